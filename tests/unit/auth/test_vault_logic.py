"""The vault's protocol rules that issue 7 added: a stalled lease holder never sends, pushed
grants against refreshes in both orders, expiry validation, damaged rows, id ranges, argument
validation, lifecycle hooks, refresh_due, claims and the body cipher.

Runs on the in-memory store here and on SQLite and PostgreSQL in
``tests/integration/auth/test_logic_on_sql.py``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest

from sallakit._exceptions import (
    ConfigurationError,
    InvalidStateError,
    StoreNotFoundError,
    TokenDecryptionError,
    TokenExchangeError,
)
from sallakit.auth import (
    EasyMode,
    LifecycleEvent,
    LifecycleKind,
    ProcessIdentity,
    RefreshOutcome,
    StoreStatus,
    TokenSet,
    TokenVault,
    generate_key,
    parse_expiry,
)
from sallakit.auth._refresh import boot_clock
from sallakit.webhooks import compute_signature

from .conftest import StoreFactory
from .test_protocol import Accounts, make_vault, seed

SECRET = "whsec-issue7"
SOON = int(time.time()) + 14 * 86_400


@pytest.fixture
def acc() -> Accounts:
    return Accounts()


@pytest.fixture
def vault(make_store: StoreFactory, acc: Accounts) -> Iterator[TokenVault]:
    v = make_vault(make_store, acc)
    yield v
    v.close()


def _deliver(vault: TokenVault, event: str, data: dict[str, Any], when: str) -> None:
    raw = json.dumps({"event": event, "merchant": 111, "created_at": when, "data": data}).encode()
    easy = EasyMode(vault, SECRET)
    anyio.run(easy.handle_app_event, raw, {"X-Salla-Signature": compute_signature(raw, SECRET)})


def _authorize(vault: TokenVault, access: str, refresh: str, when: str, **extra: Any) -> None:
    data = {"access_token": access, "refresh_token": refresh, "expires": SOON, **extra}
    _deliver(vault, "app.store.authorize", data, when)


# ------------------------------------------------------------ a stalled holder never sends


def test_holder_paused_past_the_lease_timeout_never_sends(
    make_store: StoreFactory, acc: Accounts
) -> None:
    keys = [generate_key()]
    holder = make_vault(make_store, acc, keys, lease_timeout=1.0)
    # The operator runs as another process would: its own identity and in-process locks.
    operator = make_vault(lambda **_: holder.store, acc, keys, lease_timeout=1.0)
    operator.leases.owners = ProcessIdentity()
    operator.leases.abandoned.owners = operator.leases.owners
    seed(holder, acc)
    real_confirm = holder.leases.confirm
    paused = threading.Event()
    resume = threading.Event()

    def stalled_confirm(store_id: int, attempt: Any) -> None:
        paused.set()  # SIGSTOP right after taking the lease, before sending
        resume.wait(10)
        real_confirm(store_id, attempt)

    holder.leases.confirm = stalled_confirm  # type: ignore[method-assign]
    results: list[object] = []

    def run_holder() -> None:
        try:
            results.append(holder.token_provider(111).get_token())
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=run_holder)
    thread.start()
    assert paused.wait(10)
    time.sleep(1.2)  # past the lease timeout: the documented recovery may start
    assert [item.store_id for item in operator.recover_interrupted()] == [111]
    assert operator.token_provider(111).force_refresh() == "ory_at_2"
    resume.set()
    thread.join(10)
    assert results == ["ory_at_2"]  # the holder found the operator's tokens
    assert acc.presented == ["ory_rt_1"]  # sent once, by the operator
    assert acc.reuses == 0
    record = holder.get(111)
    assert record.status is StoreStatus.ACTIVE
    assert holder.tokens(111).refresh_token == "ory_rt_2"


def test_send_deadline_is_checked_right_before_the_request(
    vault: TokenVault, acc: Accounts
) -> None:
    assert vault.oauth is not None and vault.async_oauth is not None
    with pytest.raises(TokenExchangeError) as info:
        vault.oauth.refresh("ory_rt_x", send_deadline=boot_clock() - 1)
    assert info.value.error == "connect_failed"
    with pytest.raises(TokenExchangeError) as info:
        anyio.run(lambda: vault.async_oauth.refresh("ory_rt_x", send_deadline=boot_clock() - 1))  # type: ignore[union-attr]
    assert info.value.error == "connect_failed"
    assert acc.presented == []


# ------------------------------------------------- pushed grant against a refresh, both orders


def test_authorize_during_a_refresh_wins_and_the_refresh_result_is_dropped(
    vault: TokenVault, acc: Accounts
) -> None:
    seed(vault, acc)

    def push_meanwhile(request: httpx2.Request) -> None:
        acc.before = None
        _authorize(vault, "at_PUSH", "rt_PUSH", "2026-01-01 10:00:00")

    acc.before = push_meanwhile
    assert vault.token_provider(111).get_token() == "at_PUSH"
    assert vault.tokens(111).refresh_token == "rt_PUSH"
    assert [e.state for e in vault.journal(111)] == ["superseded"]
    # The refresh's own answer arrives afterwards in no form: nothing overwrites the push.
    assert vault.token_provider(111).get_token() == "at_PUSH"


def test_authorize_during_a_refresh_that_fails_keeps_the_store_active(
    vault: TokenVault, acc: Accounts
) -> None:
    seed(vault, acc)

    def salla_refreshed_itself(request: httpx2.Request) -> None:
        # Salla refreshed on its own (consuming our token) and pushed the new grant.
        acc.before = None
        acc.valid.clear()
        _authorize(vault, "at_PUSH", "rt_PUSH", "2026-01-01 10:00:00")

    acc.before = salla_refreshed_itself
    assert vault.token_provider(111).get_token() == "at_PUSH"
    assert vault.get(111).status is StoreStatus.ACTIVE


def test_refresh_then_the_authorize_it_replaced_is_ignored(
    vault: TokenVault, acc: Accounts
) -> None:
    _authorize(vault, "at_PUSH1", "rt_PUSH1", "2026-01-01 10:00:00")
    acc.valid.add("rt_PUSH1")
    with vault.store.write() as tx:  # make it due
        tx.update(111, {"expires_at": time.time() - 10})
    assert vault.token_provider(111).get_token() == "ory_at_1"
    # The same grant delivered again (a retry, a replay): its refresh token is spent.
    _authorize(vault, "at_PUSH1", "rt_PUSH1", "2026-01-01 10:00:01")
    assert vault.tokens(111).access_token == "ory_at_1"
    # A newer grant pushed by Salla lands.
    _authorize(vault, "at_PUSH2", "rt_PUSH2", "2026-01-02 10:00:00")
    assert vault.tokens(111).access_token == "at_PUSH2"


# ---------------------------------------------------------------------- expiry values


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"expires": 1_900_000_000_000}, 1_900_000_000.0),  # milliseconds
        ({"expires": 1_900_000_000}, 1_900_000_000.0),  # seconds
        ({"expires": 1_209_600}, 1_899_000_000.0 + 1_209_600),  # a duration
        ({"expires_in": "1209600"}, 1_899_000_000.0 + 1_209_600),
    ],
)
def test_expiry_units(payload: dict[str, Any], expected: float) -> None:
    assert parse_expiry(payload, now=1_899_000_000.0) == expected


@pytest.mark.parametrize(
    "raw",
    [1e300, math.inf, "Infinity", "NaN", -5, True, 10**30, 40_000_000, 5_000_000_000],
)
def test_absurd_expiries_are_refused(raw: object) -> None:
    with pytest.raises(TokenExchangeError) as info:
        parse_expiry({"expires": raw}, now=1_899_000_000.0)
    assert info.value.error == "invalid_expiry"


@pytest.mark.parametrize("raw", [1e300, "Infinity", 10**30])
def test_absurd_pushed_expiry_keeps_the_old_tokens(vault: TokenVault, raw: object) -> None:
    _authorize(vault, "at_GOOD", "rt_GOOD", "2026-01-01 10:00:00")
    data = {"access_token": "at_BAD", "refresh_token": "rt_BAD", "expires": raw}
    with pytest.raises(TokenExchangeError, match="expires"):
        _deliver(vault, "app.store.authorize", data, "2026-01-02 10:00:00")
    assert vault.tokens(111).access_token == "at_GOOD"
    assert vault.get(111).expires_at == SOON


def test_absurd_expiry_in_a_refresh_answer_keeps_the_issued_tokens(
    vault: TokenVault, acc: Accounts
) -> None:
    seed(vault, acc)

    def absurd(request: httpx2.Request, minted: dict[str, Any]) -> httpx2.Response:
        minted["expires_in"] = 1e300
        return httpx2.Response(200, json=minted)

    acc.after = absurd
    assert vault.token_provider(111).get_token() == "ory_at_2"
    expires_at = vault.get(111).expires_at
    assert expires_at is not None and expires_at < time.time() + 14 * 86_400


# ------------------------------------------------------------------ bad rows, id ranges


def test_a_damaged_row_never_breaks_listing(vault: TokenVault, acc: Accounts) -> None:
    for store_id in (111, 222, 333):
        vault.save_tokens(store_id, TokenSet(f"at{store_id}", f"rt{store_id}", SOON))
    with vault.store.write() as tx:
        tx.update(222, {"status": "frozen-by-a-newer-version"})
        tx.update(333, {"expires_at": 1e300})
    records = {r.store_id: r for r in vault.list_stores()}
    assert records[111].status is StoreStatus.ACTIVE
    assert records[222].status is StoreStatus.UNREADABLE
    assert "unknown" in (records[222].status_detail or "")
    assert records[333].status is StoreStatus.UNREADABLE and records[333].expires_at is None
    with pytest.raises(StoreNotFoundError, match="unreadable"):
        vault.token_provider(222).get_token()


def test_an_impossible_expiry_is_refreshed_not_trusted(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc, expires_at=time.time() + 10 * 86_400)
    with vault.store.write() as tx:
        tx.update(111, {"expires_at": 1e300})
    assert vault.token_provider(111).get_token() == "ory_at_2"
    assert vault.get(111).status is StoreStatus.ACTIVE


@pytest.mark.parametrize("store_id", [2**63, 2**64, 0, -1, "x"])
def test_ids_that_fit_no_store_are_one_line_errors(vault: TokenVault, store_id: Any) -> None:
    for call in (
        lambda: vault.get(store_id),
        lambda: vault.tokens(store_id),
        lambda: vault.token_provider(store_id),
        lambda: vault.uninstall(store_id),
    ):
        with pytest.raises(StoreNotFoundError) as info:
            call()
        assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lease_timeout": -1},
        {"lease_timeout": math.nan},
        {"lease_timeout": 0},
        {"refresh_margin": math.nan},
        {"refresh_margin": -1},
        {"commit_budget": math.inf},
        {"lease_wait": math.nan},
        {"refresh_token_lifetime": 0},
        {"pending_ttl": -5},
        {"refresh_policy": "sometimes"},
    ],
)
def test_constructor_arguments_are_validated(
    make_store: StoreFactory, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        TokenVault(make_store(), [generate_key()], **kwargs)


# --------------------------------------------------------------------- lifecycle hooks


def test_lifecycle_events(vault: TokenVault, acc: Accounts) -> None:
    events: list[LifecycleEvent] = []
    vault.on_lifecycle(events.append)
    vault.on_lifecycle(lambda event: 1 / 0)  # a failing callback changes nothing
    seed(vault, acc)
    acc.after = lambda request, minted: httpx2.Response(502, text="bad gateway")
    with pytest.raises(Exception):  # noqa: B017 (interrupted)
        vault.token_provider(111).get_token()
    acc.after = lambda request, minted: httpx2.Response(400, json={"error": "invalid_grant"})
    with pytest.raises(Exception):  # noqa: B017 (the grant is gone)
        vault.token_provider(111).force_refresh()
    vault.save_tokens(111, TokenSet("at_new", "rt_new", SOON))  # a reinstall
    vault.uninstall(111)
    kinds = [event.kind for event in events]
    assert kinds == [
        LifecycleKind.REFRESH_INTERRUPTED,
        LifecycleKind.REINSTALL_REQUIRED,
        LifecycleKind.RECOVERED,
        LifecycleKind.UNINSTALLED,
    ]
    assert all(event.store_id == 111 for event in events)


def test_refresh_outcomes_reach_on_refresh(vault: TokenVault, acc: Accounts) -> None:
    outcomes: list[RefreshOutcome] = []
    vault.on_refresh(outcomes.append)
    unregister_broken = vault.on_refresh(lambda outcome: 1 / 0)  # changes nothing
    seed(vault, acc)
    vault.token_provider(111).force_refresh()
    unregister_broken()
    acc.after = lambda request, minted: httpx2.Response(502, text="bad gateway")
    with pytest.raises(Exception):  # noqa: B017 (interrupted)
        vault.token_provider(111).force_refresh()
    vault.save_tokens(111, TokenSet("at_new", "rt_new", SOON))  # the operator reinstalls
    acc.after = lambda request, minted: httpx2.Response(400, json={"error": "invalid_grant"})
    with pytest.raises(Exception):  # noqa: B017 (the grant is gone)
        vault.token_provider(111).force_refresh()
    assert [(o.store_id, o.outcome) for o in outcomes] == [
        (111, "refreshed"),
        (111, "interrupted"),
        (111, "reinstall_required"),
    ]


def test_operator_retry_that_works_reports_recovered(vault: TokenVault, acc: Accounts) -> None:
    events: list[LifecycleEvent] = []
    vault.on_lifecycle(events.append)
    seed(vault, acc)
    with vault.store.write() as tx:  # an interrupted refresh whose token was not consumed
        tx.update(111, {"status": StoreStatus.REFRESH_INTERRUPTED.value})
    assert vault.token_provider(111).force_refresh() == "ory_at_2"
    assert [e.kind for e in events] == [LifecycleKind.RECOVERED]
    assert vault.get(111).status is StoreStatus.ACTIVE


# -------------------------------------------------------------------------- refresh_due


def test_refresh_due_refreshes_expiring_and_idle_stores(
    make_store: StoreFactory, acc: Accounts
) -> None:
    clock = [time.time()]
    vault = make_vault(make_store, acc, clock=lambda: clock[0])
    seed(vault, acc, expires_at=clock[0] + 3600)  # 111: expires within the margin
    minted = acc.mint()
    vault.save_tokens(222, TokenSet(minted["access_token"], minted["refresh_token"], SOON * 2))
    minted = acc.mint()
    vault.save_tokens(333, TokenSet(minted["access_token"], minted["refresh_token"], SOON * 2))
    assert [d.store_id for d in vault.due_for_refresh()] == [111]
    clock[0] += 24 * 86_400  # 222 and 333 idle for 24 days: their refresh tokens near expiry
    with vault.store.write() as tx:
        tx.update(222, {"expires_at": clock[0] + 10 * 86_400})
        tx.update(333, {"expires_at": clock[0] + 10 * 86_400})
    due = {(d.store_id, d.reason) for d in vault.due_for_refresh()}
    assert due == {(111, "expiring"), (222, "idle"), (333, "idle")}
    reports = vault.refresh_due()
    assert sorted((r.store_id, r.ok) for r in reports) == [(111, True), (222, True), (333, True)]
    assert sorted(acc.presented) == ["ory_rt_1", "ory_rt_2", "ory_rt_3"]  # once each
    assert acc.reuses == 0
    vault.close()


@pytest.mark.parametrize(("policy", "expected"), [("push-only", []), ("hybrid", [222])])
def test_refresh_policy_decides_who_refreshes(
    make_store: StoreFactory, acc: Accounts, policy: str, expected: list[int]
) -> None:
    vault = make_vault(make_store, acc, refresh_policy=policy)
    seed(vault, acc, expires_at=time.time() + 3600)  # 111: within the margin, not expired
    minted = acc.mint()
    vault.save_tokens(222, TokenSet(minted["access_token"], minted["refresh_token"], 1.0e9 + 1))
    assert [d.store_id for d in vault.due_for_refresh()] == expected
    assert vault.token_provider(111).get_token() == "ory_at_1"  # no refresh ahead of expiry
    if policy == "push-only":
        with pytest.raises(StoreNotFoundError, match="push-only"):
            vault.token_provider(222).get_token()
        assert acc.presented == []
    vault.close()


def test_async_refresh_due(vault: TokenVault, acc: Accounts) -> None:
    seed(vault, acc)
    reports = anyio.run(vault.arefresh_due)
    assert [(r.store_id, r.ok) for r in reports] == [(111, True)]


# ------------------------------------------------------------------------------ claims


def test_easy_install_is_pending_until_claimed(vault: TokenVault) -> None:
    _authorize(vault, "at_E", "rt_E", "2026-01-01 10:00:00")
    assert vault.get(111).pending
    link = vault.claim_link(111, base_url="https://app.example/claim", secret="s" * 32)
    token = link.split("claim=")[1]
    with pytest.raises(InvalidStateError):
        vault.redeem_claim(token, secret="t" * 32, account="acct-1")
    record = vault.redeem_claim(token, secret="s" * 32, account="acct-1")
    assert record.account == "acct-1" and not record.pending
    with pytest.raises(InvalidStateError, match="already used"):
        vault.redeem_claim(token, secret="s" * 32, account="acct-2")
    assert vault.get(111).account == "acct-1"


def test_unclaimed_installs_expire(make_store: StoreFactory, acc: Accounts) -> None:
    clock = [time.time()]
    vault = make_vault(make_store, acc, clock=lambda: clock[0], pending_ttl=3600)
    events: list[LifecycleEvent] = []
    vault.on_lifecycle(events.append)
    _authorize(vault, "at_E", "rt_E", "2026-01-01 10:00:00")
    vault.save_tokens(222, TokenSet("at_C", "rt_C", SOON), account="acct-9")  # claimed at once
    assert vault.expire_pending() == []
    clock[0] += 7200
    assert vault.expire_pending() == [111]
    assert vault.get(111).status is StoreStatus.UNINSTALLED
    assert vault.get(222).status is StoreStatus.ACTIVE
    assert [e.kind for e in events] == [LifecycleKind.PENDING_EXPIRED]
    vault.close()


# --------------------------------------------------------------------------- body cipher


def test_body_cipher_is_bound_to_its_purpose(vault: TokenVault) -> None:
    cipher = vault.body_cipher("webhook-body")
    sealed = cipher.seal(b'{"access_token": "at"}')
    assert b"access_token" not in sealed
    assert cipher.open(sealed) == b'{"access_token": "at"}'
    with pytest.raises(TokenDecryptionError):
        vault.body_cipher("other").open(sealed)
    vault.save_tokens(111, TokenSet("at_T", "rt_T", SOON))
    with vault.store.read() as tx:
        row = tx.get(111)
    assert row is not None and row.access_token is not None
    with pytest.raises(TokenDecryptionError):
        cipher.open(row.access_token.encode())  # a sealed token never opens as a body
    with pytest.raises(TokenDecryptionError):
        vault._cipher.open(111, "access", sealed.decode())  # nor a body as a token
