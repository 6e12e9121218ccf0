"""Settings: one place that reads the environment, picks the mode and hides secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings


def test_socket_mode_wins_when_an_app_token_is_set() -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"}
    assert Settings.from_env(env).mode == "socket"
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}).mode == (
        "http"
    )


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert settings.port == 3000
    assert settings.api_url == "https://slack.com/api/"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.log_level == "INFO"
    assert settings.review_holidays is None


def test_the_sandbox_keeps_its_own_database_beside_app_py(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql+psycopg://db.example/real"}
    settings = Settings.from_env(env, home=tmp_path)
    assert settings.sandbox_database_url == (
        f"sqlite:///{tmp_path.resolve()}/partnership-check-sandbox.sqlite3"
    )
    assert not settings.has_slack_credentials
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).has_slack_credentials


def test_api_url_gets_its_trailing_slash() -> None:
    env = {"SLACK_API_URL": "http://127.0.0.1:9/api"}
    assert Settings.from_env(env).api_url == "http://127.0.0.1:9/api/"


def test_missing_credentials_explain_what_to_set() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET") as error:
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).require_mode()
    assert "slack-app-manifest.yml" in str(error.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"PORT": "0", "LOG_LEVEL": "chatty", "PARTNERSHIP_CHANNEL": "no spaces"})
    assert len(str(error.value).splitlines()) == 3


def test_review_holidays_name_a_known_region() -> None:
    assert Settings.from_env({"REVIEW_HOLIDAYS": "GB-ENG"}).review_holidays == "GB-ENG"
    with pytest.raises(ConfigError, match="REVIEW_HOLIDAYS must be a country code") as error:
        Settings.from_env({"REVIEW_HOLIDAYS": "England"})
    assert "'England' is not a known holiday region" in str(error.value)


def test_repr_never_shows_tokens_or_database_passwords() -> None:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-very-secret",
            "SLACK_SIGNING_SECRET": "signing-secret",
            "DATABASE_URL": "postgresql+psycopg://bot:hunter2@db:5432/bot",
        }
    )
    shown = repr(settings)
    assert "xoxb-very-secret" not in shown and "signing-secret" not in shown
    assert "hunter2" not in shown and "bot:***@db" in shown
