"""The vault and its coordinator against a fake token server (no database file, no network)."""

from __future__ import annotations

import threading

import anyio
import pytest

from sallakit._exceptions import (
    RefreshInterruptedError,
    ReinstallRequiredError,
    StoreNotFoundError,
    TokenExchangeError,
)
from sallakit.auth import StoreStatus, TokenVault

from .conftest import NOW, FakeAccounts, seed, set_lease


def test_fresh_token_is_used_without_refresh(vault: TokenVault, accounts: FakeAccounts) -> None:
    token = seed(vault, accounts, 111, expires_at=NOW + 10 * 86400)
    assert vault.token_provider(111).get_token() == token
    assert accounts.refreshes == 0


def test_threads_refresh_once(vault: TokenVault, accounts: FakeAccounts) -> None:
    seed(vault, accounts, 111, expires_at=NOW - 1)
    results: list[str] = []

    def work() -> None:
        results.append(vault.token_provider(111).get_token())

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert accounts.refreshes == 1 and accounts.invalid_grants == 0
    assert set(results) == {"ory_at_2"}


@pytest.mark.anyio
async def test_tasks_refresh_once_and_401_path(vault: TokenVault, accounts: FakeAccounts) -> None:
    old = seed(vault, accounts, 111, expires_at=NOW + 10 * 86400)
    results: list[str] = []

    async def work() -> None:
        results.append(await vault.async_token_provider(111).refresh_token(old))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(work)
    assert accounts.refreshes == 1
    assert set(results) == {"ory_at_2"}
    assert vault.get(111).generation == 2


def test_invalid_grant_marks_reinstall_and_never_retries(
    vault: TokenVault, accounts: FakeAccounts
) -> None:
    seed(vault, accounts, 111, expires_at=NOW - 1)
    accounts.valid_refresh.clear()  # the grant was revoked at Salla
    with pytest.raises(ReinstallRequiredError) as info:
        vault.token_provider(111).get_token()
    assert info.value.store_id == 111
    record = vault.get(111)
    assert record.status is StoreStatus.REINSTALL_REQUIRED
    assert record.status_detail and "reinstall" in record.status_detail
    with pytest.raises(ReinstallRequiredError):
        vault.token_provider(111).get_token()
    assert accounts.invalid_grants == 1  # the second call did not reach Salla


def test_server_error_may_have_consumed_the_token(
    vault: TokenVault, accounts: FakeAccounts
) -> None:
    # A 5xx is not a definite refusal: the token server (or a gateway in front of it) may have
    # rotated the token before failing. It must never be presented again automatically.
    seed(vault, accounts, 111, expires_at=NOW - 1)
    accounts.fail_next = "500"
    with pytest.raises(RefreshInterruptedError):
        vault.token_provider(111).get_token()
    assert vault.get(111).status is StoreStatus.REFRESH_INTERRUPTED
    with pytest.raises(RefreshInterruptedError):
        vault.token_provider(111).get_token()
    assert accounts.refreshes == 0  # the fake failed before rotating: the operator retry works
    assert vault.token_provider(111).force_refresh() == "ory_at_2"


def test_definite_oauth_refusal_keeps_the_store_active(
    vault: TokenVault, accounts: FakeAccounts
) -> None:
    seed(vault, accounts, 111, expires_at=NOW - 1)
    accounts.fail_next = "invalid_client"
    with pytest.raises(TokenExchangeError):
        vault.token_provider(111).get_token()
    assert vault.get(111).status is StoreStatus.ACTIVE
    assert vault.token_provider(111).get_token() == "ory_at_2"


def test_lost_answer_is_an_interrupted_refresh(vault: TokenVault, accounts: FakeAccounts) -> None:
    seed(vault, accounts, 111, expires_at=NOW - 1)
    accounts.fail_next = "timeout"
    with pytest.raises(RefreshInterruptedError, match="sallakit stores refresh 111"):
        vault.token_provider(111).get_token()
    assert vault.get(111).status is StoreStatus.REFRESH_INTERRUPTED
    with pytest.raises(RefreshInterruptedError):
        vault.token_provider(111).get_token()
    # The operator's single try: the token had not been consumed, so it works.
    assert vault.token_provider(111).force_refresh() == "ory_at_2"
    assert vault.get(111).status is StoreStatus.ACTIVE


def test_stale_lease_of_another_host_times_out(vault: TokenVault, accounts: FakeAccounts) -> None:
    seed(vault, accounts, 111, expires_at=NOW - 1)
    set_lease(vault, 111, age=10_000, lease_host="elsewhere")
    assert [f.store_id for f in vault.find_interrupted()] == [111]
    assert vault.get(111).status is StoreStatus.ACTIVE  # find_interrupted is read-only
    found = vault.recover_interrupted()
    assert [f.store_id for f in found] == [111]
    assert "elsewhere" in found[0].message
    assert vault.recover_interrupted() == []


def test_unknown_store_and_uninstalled(vault: TokenVault, accounts: FakeAccounts) -> None:
    with pytest.raises(StoreNotFoundError):
        vault.token_provider(5).get_token()
    seed(vault, accounts, 111, expires_at=NOW + 10 * 86400)
    vault.uninstall(111)
    with pytest.raises(StoreNotFoundError):
        vault.token_provider(111).get_token()
    assert vault.get(111).status is StoreStatus.UNINSTALLED
