"""The OAuth clients check their arguments when built: one clear ConfigurationError each."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sallakit import ConfigurationError
from sallakit.auth import AsyncOAuthClient, OAuthClient, build_authorize_url

CLIENTS = [OAuthClient, AsyncOAuthClient]


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize("client_id", ["abc\r\nX-Injected: 1", "abc\n", "a\x00b", " abc", 12])
def test_a_bad_client_id_is_refused_naming_it(client_class: Any, client_id: Any) -> None:
    with pytest.raises(ConfigurationError, match="client_id"):
        client_class(client_id, "secret")


@pytest.mark.parametrize("client_class", CLIENTS)
def test_a_bad_client_secret_is_refused_without_quoting_it(client_class: Any) -> None:
    with pytest.raises(ConfigurationError, match="client_secret") as caught:
        client_class("id", "s3cret\r\n")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "accounts.salla.sa",
        "ftp://accounts.salla.sa",
        "https://",
        "https://accounts.salla.sa?x=1",
        "https://accounts.salla.sa/\r\n",
        None,
    ],
)
def test_a_bad_accounts_url_is_refused_naming_it(client_class: Any, url: Any) -> None:
    with pytest.raises(ConfigurationError, match="accounts_url"):
        client_class("id", "secret", accounts_url=url)


@pytest.mark.parametrize("client_class", CLIENTS)
@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0, -1, "30", True])
def test_a_bad_timeout_is_refused(client_class: Any, timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        client_class("id", "secret", timeout=timeout)


def test_good_arguments_are_kept() -> None:
    client = OAuthClient("id-1", "secret", accounts_url="http://127.0.0.1:8081/", timeout=5)
    assert client.accounts_url == "http://127.0.0.1:8081"
    assert client.timeout == 5.0
    client.close()


def test_build_authorize_url_checks_its_arguments_too() -> None:
    with pytest.raises(ConfigurationError, match="accounts_url"):
        build_authorize_url(
            accounts_url="nope", client_id="id", redirect_uri="https://a/cb", state="s"
        )
    with pytest.raises(ConfigurationError, match="client_id"):
        build_authorize_url(
            accounts_url="https://accounts.salla.sa",
            client_id="id\r\n",
            redirect_uri="https://a/cb",
            state="s",
        )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(client_id=st.text(max_size=30), url=st.text(max_size=40))
def test_any_text_is_accepted_or_refused_with_a_configuration_error(
    client_id: str, url: str
) -> None:
    try:
        client = OAuthClient(client_id, "secret", accounts_url=url)
    except ConfigurationError:
        return
    # What is accepted can travel: no control characters, an http(s) URL with a host.
    assert "\r" not in client.client_id and "\n" not in client.client_id
    assert client.accounts_url.startswith(("http://", "https://"))
    client.close()
