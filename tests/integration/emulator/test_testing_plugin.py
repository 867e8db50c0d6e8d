"""``sallakit.testing``: the pytest plugin and the signed-webhook helper."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import textwrap

from sallakit.testing import signed_webhook, webhook_body

USER_TESTS = """
import httpx2
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_fixtures(salla_emulator, salla_store, salla_tokens):
    assert salla_store.id == salla_emulator.stores[0].id
    async with httpx2.AsyncClient(
        transport=salla_emulator.async_transport(),
        base_url="https://api.salla.dev/admin/v2",
        headers={"Authorization": f"Bearer {salla_tokens['access_token']}"},
    ) as client:
        answer = await client.get("/products")
    assert answer.status_code == 200
    assert answer.json()["pagination"]["total"] == 25
"""


def test_plugin_fixtures_in_a_user_project(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["sallakit.testing"]\n')
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_signed_webhook_signature_strategy():
    payload = {"event": "order.created", "merchant": 1, "created_at": "x", "data": {"id": 7}}
    body, headers = signed_webhook(payload, "s3cret")
    assert json.loads(body) == payload
    assert headers["X-Salla-Security-Strategy"] == "Signature"
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Salla-Signature"] == expected


def test_signed_webhook_token_strategy_and_raw_bytes():
    raw = webhook_body("product.created", {"id": 1, "name": "قهوة"}, merchant=42)
    body, headers = signed_webhook(raw, "tok", strategy="token", headers={"X-Extra": "1"})
    assert body == raw
    assert json.loads(body)["data"]["name"] == "قهوة"
    assert headers["Authorization"] == "tok"
    assert headers["X-Salla-Security-Strategy"] == "Token"
    assert headers["X-Extra"] == "1"
