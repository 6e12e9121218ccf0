"""All configuration, read once from the environment (and `.env`) into one object.

Nothing else in the project reads `os.environ`: tests and the command line build a
`Settings` and pass it down, so there is exactly one place that knows the variable names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import find_dotenv, load_dotenv

DEFAULT_DATABASE_URL = "sqlite:///partnership-check.sqlite3"
DEFAULT_DATABASE_FILE = "partnership-check.sqlite3"
# The sandbox keeps its made-up workspace apart from the real one's data.
DEFAULT_SANDBOX_DATABASE_FILE = "partnership-check-sandbox.sqlite3"
DEFAULT_API_URL = "https://slack.com/api/"
MANIFEST = "slack-app-manifest.yml"

_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$")
# What .env.example holds in place of a secret: "xoxb-...", "<your token>", "changeme".
_PLACEHOLDER = re.compile(r"\.\.\.|…|^<.*>$|^(changeme|your[-_ ].*)$", re.IGNORECASE)
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


class ConfigError(Exception):
    """Configuration is missing or invalid; the message says what to set and where."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    partnership_channel: str | None = None
    port: int = 3000
    log_level: str = "INFO"
    # Public holidays on which no review reminder goes out: "GB-ENG", "GB-SCT", "IE"...
    review_holidays: str | None = None
    # The sandbox's own database, never DATABASE_URL: trying the bot out cannot write
    # made-up partnerships into the real ones.
    sandbox_database_url: str = f"sqlite:///{DEFAULT_SANDBOX_DATABASE_FILE}"

    def __repr__(self) -> str:
        # Tokens never reach a log line or a traceback through repr().
        return (
            f"Settings(api_url={self.api_url!r}, database_url={_redact_url(self.database_url)!r}, "
            f"partnership_channel={self.partnership_channel!r}, port={self.port}, "
            f"mode={self.mode!r})"
        )

    @property
    def mode(self) -> str | None:
        """'socket' when an app-level token is set, 'http' with a signing secret, else None."""
        if self.app_token and self.bot_token:
            return "socket"
        if self.signing_secret and self.bot_token:
            return "http"
        return None

    @property
    def has_slack_credentials(self) -> bool:
        """Whether any Slack credential is set: with none, `python app.py` starts the
        sandbox; with some but not enough, it says what is missing."""
        return bool(self.bot_token or self.app_token or self.signing_secret)

    @property
    def database_shown(self) -> str:
        """The database URL, fit for a log line (no password)."""
        return _redact_url(self.database_url)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, home: Path | None = None
    ) -> Settings:
        """Read settings from `environ` (default: the process, after loading `.env`).

        `home` is where app.py lives: its `.env` is read too (after one in the current
        directory, and never over the real environment), and the default SQLite file lives
        there, so cron or systemd starting the bot from elsewhere finds the same settings
        and the same data.
        """
        if environ is None:
            load_dotenv(find_dotenv(usecwd=True))  # the .env where the bot is run from
            if home is not None:
                load_dotenv(home / ".env")  # and the one beside app.py
            environ = os.environ
        env = {k: v.strip() for k, v in environ.items() if v and v.strip()}
        problems: list[str] = []

        port_text = env.get("PORT", "3000")
        port = int(port_text) if port_text.isdigit() else 0
        if not 0 < port < 65536:
            problems.append(f"PORT must be a number from 1 to 65535 (got {port_text!r}).")

        channel = env.get("PARTNERSHIP_CHANNEL")
        if channel and not _CHANNEL.match(channel):
            problems.append(
                "PARTNERSHIP_CHANNEL must be a channel ID like C0123ABCD or a name like "
                f"#partnerships (got {channel!r})."
            )

        level = env.get("LOG_LEVEL", "INFO").upper()
        if level not in _LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(sorted(_LOG_LEVELS))}.")

        for name, prefix in (
            ("SLACK_BOT_TOKEN", "xoxb-"),
            ("SLACK_APP_TOKEN", "xapp-"),
            ("SLACK_SIGNING_SECRET", ""),
        ):
            value = env.get(name)
            if value and _PLACEHOLDER.search(value):
                problems.append(
                    f"{name} is still the placeholder from .env.example ({value!r}); paste "
                    "the real value from your Slack app's settings."
                )
            elif value and not value.startswith(prefix):
                problems.append(
                    f"{name} should start with {prefix!r}; check you copied the right token."
                )

        holidays = env.get("REVIEW_HOLIDAYS")
        if holidays:  # none at all needs no calendar (nor the package behind it)
            from flows.schedule import holiday_calendar

            try:
                holiday_calendar(holidays)
            except ValueError as unknown:
                problems.append(
                    "REVIEW_HOLIDAYS must be a country code, optionally with a region, like "
                    f"GB-ENG, GB-SCT, GB-WLS, GB-NIR or IE: {unknown}."
                )

        api_url = env.get("SLACK_API_URL", DEFAULT_API_URL)
        if not api_url.startswith(("http://", "https://")):
            problems.append(f"SLACK_API_URL must be an http(s) URL (got {api_url!r}).")
        if problems:
            raise ConfigError("\n".join(problems))

        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN"),
            signing_secret=env.get("SLACK_SIGNING_SECRET"),
            app_token=env.get("SLACK_APP_TOKEN"),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=env.get("DATABASE_URL") or _default_database(home),
            sandbox_database_url=env.get("SANDBOX_DATABASE_URL")
            or _default_database(home, DEFAULT_SANDBOX_DATABASE_FILE),
            partnership_channel=channel,
            port=port,
            log_level=level,
            review_holidays=holidays,
        )

    def require_mode(self) -> str:
        """The run mode, or a ConfigError explaining what to set."""
        if self.mode:
            return self.mode
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.bot_token),
                ("SLACK_SIGNING_SECRET (HTTP mode)", self.signing_secret),
                ("SLACK_APP_TOKEN (Socket Mode)", self.app_token),
            )
            if not value
        ]
        raise ConfigError(
            "The bot needs Slack credentials to run. Not set: " + ", ".join(missing) + ".\n"
            "Set SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode) or "
            "SLACK_SIGNING_SECRET (HTTP mode) in the environment or in .env "
            "(copy .env.example).\n"
            f"Create the Slack app from {MANIFEST}; the README walks you through it."
        )


def _default_database(home: Path | None, file: str = DEFAULT_DATABASE_FILE) -> str:
    """A SQLite file beside app.py (not wherever the bot happens to be started)."""
    if home is None:
        return f"sqlite:///{file}"
    return f"sqlite:///{home.resolve() / file}"


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
