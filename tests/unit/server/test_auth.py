"""Sessions, credentials and redirects of the dashboard login (no I/O)."""

from __future__ import annotations

import pytest

from sallakit import ConfigurationError
from sallakit.server._auth import Credentials, SessionCodec, safe_next


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_round_trips_and_expires() -> None:
    clock = Clock()
    codec = SessionCodec("k" * 40, max_age=600, clock=clock)
    session = codec.new(user="admin")
    cookie = codec.seal(session)
    assert codec.open(cookie) == session
    assert session.sid not in cookie and session.csrf not in cookie  # sealed, not just signed
    clock.now += 601
    assert codec.open(cookie) is None


def test_a_session_from_another_secret_or_tampered_is_refused() -> None:
    codec = SessionCodec("k" * 40, max_age=600)
    other = SessionCodec("j" * 40, max_age=600)
    cookie = codec.seal(codec.new(user="admin"))
    assert other.open(cookie) is None
    tampered = cookie[:-4] + ("AAAA" if cookie[-4:] != "AAAA" else "BBBB")
    assert codec.open(tampered) is None
    for junk in ("", "x", "é" * 10, "gAAAA" + "A" * 100):
        assert codec.open(junk) is None


def test_each_session_is_new() -> None:
    codec = SessionCodec("k" * 40, max_age=600)
    a, b = codec.new(), codec.new()
    assert a.sid != b.sid and a.csrf != b.csrf
    assert not a.logged_in


def test_credentials_accept_the_password_or_the_token() -> None:
    both = Credentials("pass word long", "t" * 30)
    assert both.check_login("pass word long")
    assert both.check_login("t" * 30)
    assert not both.check_login("")
    assert not both.check_login("pass word lon")
    only_token = Credentials(None, "t" * 30)
    assert not only_token.check_login("")
    assert only_token.check_bearer("Bearer " + "t" * 30)
    assert only_token.check_bearer("bearer  " + "t" * 30)
    assert not only_token.check_bearer("Basic " + "t" * 30)
    assert not only_token.check_bearer(None)
    assert not Credentials("pass word long", None).check_bearer("Bearer pass word long")
    with pytest.raises(ConfigurationError):
        Credentials(None, "")
    assert "pass" not in repr(both)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dashboard/stores/1", "/dashboard/stores/1"),
        ("/dashboard/webhooks?status=dead", "/dashboard/webhooks?status=dead"),
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/", "/dashboard/"),
        ("/\\evil.example", "/dashboard/"),
        ("/x\r\nSet-Cookie: a=b", "/dashboard/"),
        ("", "/dashboard/"),
        (None, "/dashboard/"),
    ],
)
def test_after_login_only_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
