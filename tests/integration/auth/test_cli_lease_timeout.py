"""`sallakit stores refresh --lease-timeout` / SALLAKIT_LEASE_TIMEOUT."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sallakit.auth import StoreStatus, TokenSet, TokenVault, generate_key
from sallakit.cli import app
from sallakit.db._schema import stores


@pytest.mark.parametrize(("lease_timeout", "refused"), [(None, True), ("50", False)])
def test_refresh_uses_the_lease_timeout(
    tmp_path: Path, lease_timeout: str | None, refused: bool
) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    key = generate_key()
    vault = TokenVault.from_url(db_url, [key])
    vault.save_tokens(77, TokenSet("ory_at_x", "ory_rt_x", time.time() - 10))
    with vault.store.engine.begin() as conn:  # a refresh abandoned 100 s ago on another host
        conn.execute(
            stores.update().values(
                status=StoreStatus.REFRESH_INTERRUPTED.value,
                lease_id="old",
                lease_owner="other",
                lease_pid=4242,
                lease_host="web-9",
                lease_node="other-boot|other-ns|1",
                lease_started_at=time.time() - 100,
                lease_journal_id=1,
            )
        )
    vault.close()
    with socket.socket() as sock:  # a closed port: the retry, if allowed, cannot connect
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "SALLAKIT_DATABASE_URL": db_url,
        "SALLAKIT_TOKEN_KEYS": key,
        "SALLAKIT_CLIENT_ID": "cid",
        "SALLAKIT_CLIENT_SECRET": "cs",
        "SALLAKIT_ACCOUNTS_URL": f"http://127.0.0.1:{port}",
    }
    if lease_timeout is not None:
        env["SALLAKIT_LEASE_TIMEOUT"] = lease_timeout
    result = CliRunner().invoke(app, ["stores", "refresh", "77"], env=env)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    # 100 s, or a little more on a loaded machine.
    assert (re.search(r"started only 10\d s ago", output) is not None) is refused
    assert ("cannot reach the accounts server" in output) is not refused
