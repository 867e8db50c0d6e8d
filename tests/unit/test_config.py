"""Settings checks: one clear line per problem, naming the variable and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from sallakit import ConfigurationError
from sallakit._config import load_settings, require_valid, settings_problems
from sallakit.auth import generate_key
from sallakit.settings import Settings

GOOD = {
    "database_url": "sqlite:///x.db",
    "admin_password": "a long enough password",
    "session_secret": "s" * 40,
    "webhook_secret": "whsec",
    "client_id": "app-id",
    "client_secret": "app-secret",
}


def good(**changes: object) -> Settings:
    values = {**GOOD, "token_keys": generate_key(), **changes}
    return Settings(**values)  # type: ignore[arg-type]


def names(settings: Settings, purpose: str = "serve") -> list[str]:
    return [p.setting for p in settings_problems(settings, purpose=purpose)]  # type: ignore[arg-type]


def test_good_settings_have_no_problem() -> None:
    assert settings_problems(good()) == []
    require_valid(good())


def test_every_problem_is_reported_at_once() -> None:
    bad = Settings(database_url="mysql://x/y", admin_password="short", token_keys="not-a-key")
    with pytest.raises(ConfigurationError) as caught:
        require_valid(bad)
    message = str(caught.value)
    for variable in (
        "SALLAKIT_DATABASE_URL",
        "SALLAKIT_TOKEN_KEYS",
        "SALLAKIT_ADMIN_PASSWORD",
        "SALLAKIT_SESSION_SECRET",
        "SALLAKIT_WEBHOOK_SECRET",
    ):
        assert variable in message
    # One line per problem, each with its fix; secrets are never echoed.
    lines = [line for line in message.splitlines() if line.startswith("- ")]
    assert len(lines) == 5
    assert all("(fix: " in line for line in lines)
    assert "not-a-key" not in message and "short" not in message.replace("shorter", "")


def test_worker_needs_no_login() -> None:
    settings = Settings(
        database_url="sqlite:///x.db", token_keys=generate_key(), client_id="a", client_secret="b"
    )
    assert names(settings, "worker") == []
    assert "SALLAKIT_ADMIN_PASSWORD" in names(settings, "serve")


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"database_url": "sqlite://"}, "SALLAKIT_DATABASE_URL"),
        ({"database_url": "::nonsense::"}, "SALLAKIT_DATABASE_URL"),
        ({"admin_password": None, "admin_token": "t" * 10}, "SALLAKIT_ADMIN_TOKEN"),
        ({"admin_password": None}, "SALLAKIT_ADMIN_PASSWORD"),
        ({"session_secret": "short"}, "SALLAKIT_SESSION_SECRET"),
        ({"redirect_uri": "https://app.example/cb"}, "SALLAKIT_STATE_SECRET"),
        ({"redirect_uri": "https://app.example/cb", "client_id": None}, "SALLAKIT_CLIENT_ID"),
        ({"client_secret": None}, "SALLAKIT_CLIENT_SECRET"),
        ({"public_url": "ftp://x"}, "SALLAKIT_PUBLIC_URL"),
        ({"api_base_url": "nope"}, "SALLAKIT_API_BASE_URL"),
        ({"htmx_url": "javascript:alert(1)"}, "SALLAKIT_HTMX_URL"),
    ],
)
def test_each_problem_names_its_variable(changes: dict[str, object], variable: str) -> None:
    assert variable in names(good(**changes))


def test_no_app_credentials_is_a_warning() -> None:
    (problem,) = settings_problems(good(client_id=None, client_secret=None))
    assert (problem.setting, problem.severity) == ("SALLAKIT_CLIENT_ID", "warning")
    assert "cannot be refreshed" in problem.message


def test_plain_http_on_a_public_host_is_a_warning_only() -> None:
    settings = good(public_url="http://shop.example.com")
    (problem,) = settings_problems(settings)
    assert problem.severity == "warning"
    assert require_valid(settings) == [problem]
    assert settings_problems(good(public_url="http://127.0.0.1:8000")) == []


def test_load_settings_reports_type_errors_per_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALLAKIT_PORT", "eighty")
    monkeypatch.setenv("SALLAKIT_SESSION_MAX_AGE_SECONDS", "5")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    text = str(caught.value)
    assert "SALLAKIT_PORT:" in text and "SALLAKIT_SESSION_MAX_AGE_SECONDS:" in text
    assert "eighty" not in text


def test_load_settings_reads_a_file(tmp_path: Path) -> None:
    env = tmp_path / "service.env"
    env.write_text("SALLAKIT_ADMIN_PASSWORD=from the file please\nSALLAKIT_PORT=9001\n")
    settings = load_settings(env)
    assert settings.port == 9001
    assert settings.admin_password is not None
    assert settings.admin_password.get_secret_value() == "from the file please"
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.env")


def test_worker_ids_and_pool_settings_are_checked_at_load() -> None:
    import pytest as _pytest

    from sallakit._config import engine_options, load_settings
    from sallakit._exceptions import ConfigurationError

    settings = load_settings(worker_id="worker-0", database_pool_size=20)
    assert engine_options(settings)["pool_size"] == 20
    for bad in ({"worker_id": "no spaces"}, {"database_pool_size": 0}, {"governor": "redis"}):
        with _pytest.raises(ConfigurationError) as caught:
            load_settings(**bad)
        assert f"SALLAKIT_{next(iter(bad)).upper()}" in caught.value.message
