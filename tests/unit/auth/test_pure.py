"""Pure pieces: expiry parsing, state signing, encryption binding, the refresh decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sallakit._exceptions import (
    ConfigurationError,
    InvalidStateError,
    RedirectURIMismatchError,
    ReinstallRequiredError,
    TokenDecryptionError,
    TokenExchangeError,
)
from sallakit.auth import TokenCipher, generate_key, parse_expiry, sign_state, verify_state
from sallakit.auth._refresh import Action, Lease, Snapshot, StoreStatus, decide, lease_is_dead
from sallakit.auth._tokens import MAX_TOKEN_LIFETIME, parse_token_response, parse_user_info

NOW = 1_750_000_000.0
SECRET = "0123456789abcdef-state-secret"


# ------------------------------------------------------------------------------- expiry


def test_expires_in_is_a_duration() -> None:
    assert parse_expiry({"expires_in": 1209600}, now=NOW) == NOW + 1209600


def test_expires_small_is_a_duration_large_is_an_epoch() -> None:
    assert parse_expiry({"expires": 1209599}, now=NOW) == NOW + 1209599
    assert parse_expiry({"expires": 1634819484}, now=NOW) == 1634819484


def test_expires_in_wins_and_strings_are_accepted() -> None:
    assert parse_expiry({"expires_in": "60", "expires": 1634819484}, now=NOW) == NOW + 60


def test_no_expiry_is_an_exchange_error() -> None:
    with pytest.raises(TokenExchangeError):
        parse_expiry({"expires": "soon"}, now=NOW)


@given(st.integers(min_value=0, max_value=int(MAX_TOKEN_LIFETIME)))
def test_any_duration_lands_after_now(seconds: int) -> None:
    assert parse_expiry({"expires": seconds}, now=NOW) == NOW + seconds


# ------------------------------------------------------------------------ token answers


def test_invalid_grant_on_refresh_means_reinstall_whatever_the_status() -> None:
    for status in (400, 401):
        with pytest.raises(ReinstallRequiredError):
            parse_token_response(status, {"error": "invalid_grant"}, now=NOW)


def test_invalid_grant_on_code_exchange_is_not_a_reinstall() -> None:
    with pytest.raises(TokenExchangeError) as info:
        parse_token_response(400, {"error": "invalid_grant"}, now=NOW, grant="code")
    assert not isinstance(info.value, ReinstallRequiredError)


def test_redirect_mismatch_and_other_errors() -> None:
    with pytest.raises(RedirectURIMismatchError):
        parse_token_response(400, {"error": "redirect_uri_mismatch"}, now=NOW)
    with pytest.raises(TokenExchangeError):
        parse_token_response(500, None, now=NOW)
    with pytest.raises(TokenExchangeError):
        parse_token_response(200, {"token_type": "bearer"}, now=NOW)


def test_user_info_with_and_without_envelope() -> None:
    body = {"data": {"id": 1, "merchant": {"id": "847769313", "name": "x"}}}
    assert parse_user_info(body).store_id == 847769313
    assert parse_user_info({"id": 1, "merchant": {"id": 5}}).store_id == 5
    assert parse_user_info({"data": {"store": {"id": 7}}}).store_id == 7
    with pytest.raises(TokenExchangeError):
        parse_user_info({"data": {"id": 1}})


# -------------------------------------------------------------------------------- state


def test_state_round_trip_is_hex_without_hyphen() -> None:
    state = sign_state(SECRET, now=NOW)
    assert len(state) == 80 and "-" not in state and state == state.lower()
    assert verify_state(SECRET, state, now=NOW + 599).nonce == state[:32]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: "",
        lambda s: s[:-2],
        lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"),
        lambda s: "zz" + s[2:],
    ],
)
def test_bad_states_are_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidStateError):
        verify_state(SECRET, mutate(sign_state(SECRET, now=NOW)), now=NOW)


def test_expired_or_foreign_state_is_refused() -> None:
    state = sign_state(SECRET, now=NOW, ttl=10)
    with pytest.raises(InvalidStateError, match="expired"):
        verify_state(SECRET, state, now=NOW + 11)
    with pytest.raises(InvalidStateError, match="signature"):
        verify_state("another-secret-of-enough-length", state, now=NOW)


def test_short_state_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        sign_state("short", now=NOW)


# ---------------------------------------------------------------------------- encryption


def test_seal_open_and_binding() -> None:
    cipher = TokenCipher([generate_key()])
    sealed = cipher.seal(1, "access", "ory_at_secret")
    assert "ory_at_secret" not in sealed
    assert cipher.open(1, "access", sealed) == "ory_at_secret"
    with pytest.raises(TokenDecryptionError):
        cipher.open(2, "access", sealed)  # another store
    with pytest.raises(TokenDecryptionError):
        cipher.open(1, "refresh", sealed)  # another column
    with pytest.raises(TokenDecryptionError):
        TokenCipher([generate_key()]).open(1, "access", sealed)  # unknown key


def test_rotation_with_old_key_kept() -> None:
    old, new = generate_key(), generate_key()
    sealed = TokenCipher([old]).seal(9, "refresh", "ory_rt_x")
    both = TokenCipher([new, old])
    assert both.needs_rotation(sealed)
    rotated = both.rotate(9, "refresh", sealed)
    assert not both.needs_rotation(rotated)
    assert TokenCipher([new]).open(9, "refresh", rotated) == "ory_rt_x"


def test_bad_keys_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        TokenCipher([])
    with pytest.raises(ConfigurationError) as info:
        TokenCipher(["not-a-key"])
    assert "not-a-key" not in str(info.value)


# ---------------------------------------------------------------------------- decision


def _snap(**kw: object) -> Snapshot:
    base: dict[str, object] = {
        "status": StoreStatus.ACTIVE,
        "access_token": "at1",
        "has_refresh_token": True,
        "expires_at": NOW + 10 * 86400,
        "generation": 1,
        "lease": None,
    }
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


LEASE = Lease(
    lease_id="l1",
    owner="o1",
    journal_id=1,
    started_at=NOW - 5,
    age=5.0,
    pid=4242,
    host="h",
    node="b|pid:[1]|99",
)


def test_decide_table() -> None:
    margin = 86400.0
    assert decide(_snap(), now=NOW, margin=margin) is Action.USE_STORED
    assert decide(_snap(expires_at=NOW + 100), now=NOW, margin=margin) is Action.REFRESH
    assert decide(_snap(expires_at=None), now=NOW, margin=margin) is Action.REFRESH
    # A 401 for a token that is no longer the stored one: someone already refreshed.
    assert decide(_snap(), now=NOW, margin=margin, rejected_token="old") is Action.USE_STORED
    # A 401 for the stored token: refresh even though it looks fresh.
    assert decide(_snap(), now=NOW, margin=margin, rejected_token="at1") is Action.REFRESH
    assert decide(_snap(lease=LEASE), now=NOW, margin=margin) is Action.WAIT
    assert decide(_snap(lease=LEASE), now=NOW, margin=margin, lease_dead=True) is (
        Action.INTERRUPTED
    )
    for status in (StoreStatus.REINSTALL_REQUIRED, StoreStatus.UNINSTALLED, StoreStatus.PENDING):
        assert decide(_snap(status=status), now=NOW, margin=margin) is Action.UNAVAILABLE
    interrupted = _snap(status=StoreStatus.REFRESH_INTERRUPTED)
    assert decide(interrupted, now=NOW, margin=margin) is Action.UNAVAILABLE
    assert decide(interrupted, now=NOW, margin=margin, force=True) is Action.REFRESH
    # The operator's retry waits while an abandoned lease could still be alive...
    young = _snap(status=StoreStatus.REFRESH_INTERRUPTED, lease=LEASE)
    assert decide(young, now=NOW, margin=margin, force=True, lease_dead=True) is Action.TOO_SOON
    assert decide(young, now=NOW, margin=margin) is Action.UNAVAILABLE
    # ...and takes over once it is older than the lease timeout.
    assert decide(young, now=NOW, margin=margin, force=True, lease_expired=True) is Action.REFRESH
    # No refresh token: use the token while it lasts, then give up.
    no_rt = _snap(has_refresh_token=False, expires_at=NOW + 100)
    assert decide(no_rt, now=NOW, margin=margin) is Action.USE_STORED
    assert decide(no_rt, now=NOW + 200, margin=margin) is Action.UNAVAILABLE


def test_lease_liveness() -> None:
    assert not lease_is_dead(LEASE, owner_alive=True)
    assert lease_is_dead(LEASE, owner_alive=False)
    # An owner that cannot be checked (another host or PID namespace): only age tells, and the
    # age is the database's (computed in SQL), never this host's clock.
    assert not lease_is_dead(LEASE, owner_alive=None)
    assert not lease_is_dead(LEASE, owner_alive=None, lease_timeout=6)
    assert lease_is_dead(LEASE, owner_alive=None, lease_timeout=4)


def test_snapshot_and_begin_reprs_show_no_token() -> None:
    from sallakit.auth._leases import RefreshAttempt

    assert "at1" not in repr(_snap())
    begin = RefreshAttempt(
        Action.REFRESH, access_token="ory_at_secret", refresh_token="ory_rt_secret"
    )
    assert "secret" not in repr(begin)
