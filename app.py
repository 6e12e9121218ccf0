"""Partnership check bot: the command line.

python app.py                              run the bot (Socket Mode with SLACK_APP_TOKEN,
                                           else HTTP), with the reminder scheduler; with no
                                           Slack credentials at all, the local sandbox
python app.py sandbox                      try the bot on a page at http://127.0.0.1:$PORT
                                           that plays Slack (no workspace needed)
python app.py reminders run-due [--as-of]  one scheduler pass, then exit (cron, catch-up)
python app.py db upgrade                   apply database migrations and exit
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import urllib.error
from datetime import UTC, datetime
from pathlib import Path

from bot import logs
from bot.settings import DEFAULT_API_URL, ConfigError, Settings

log = logging.getLogger("partnership-check")
HOME = Path(__file__).resolve().parent  # .env and the default database live here


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Partnership check Slack bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot (the default)")
    commands.add_parser(
        "sandbox", help="try the bot on a local page that plays Slack (no workspace needed)"
    )
    db_parser = commands.add_parser("db", help="database maintenance")
    db_parser.add_argument("action", choices=["upgrade"], help="apply all migrations")
    reminders = commands.add_parser("reminders", help="review reminders")
    reminders.add_argument("action", choices=["run-due"], help="post the reminders due now")
    reminders.add_argument(
        "--as-of",
        type=_moment,
        metavar="ISO-TIME",
        help="act as if the clock said this (e.g. 2027-03-01T09:00; UTC unless it has an offset)",
    )
    args = parser.parse_args(argv)

    settings: Settings | None = None
    try:
        settings = Settings.from_env(home=HOME)
        logs.configure(settings.log_level)
        if args.command == "sandbox" or (
            args.command is None and not settings.has_slack_credentials
        ):
            return sandbox(settings)
        log.info("Database: %s", settings.database_shown)
        if args.command == "db":
            from bot.storage.db import Database

            Database(settings.database_url).upgrade()
            print("Database is up to date.")
            return 0
        if args.command == "reminders":
            return run_due(settings, args.as_of)
        return serve(settings)
    except Exception as error:
        if not _explained(error, settings):
            raise
        return 2


def _explained(error: Exception, settings: Settings | None) -> bool:
    """Say plainly what stopped the bot, if it is something the person can put right."""
    if isinstance(error, ConfigError) or _is(error, "flows.errors", "FlowDefinitionError"):
        print(f"Cannot start: {error}", file=sys.stderr)
    elif _is(error, "slack_bolt.error", "BoltError") or _is(
        error, "slack_sdk.errors", "SlackApiError"
    ):
        print(f"Slack refused to start the bot: {error}", file=sys.stderr)
        print(
            "Check SLACK_BOT_TOKEN (and SLACK_APP_TOKEN for Socket Mode) are this app's "
            "current tokens; reinstalling the app issues new ones.",
            file=sys.stderr,
        )
    elif _is(error, "sqlalchemy.exc", "SQLAlchemyError"):
        print(f"Cannot use the database ({type(error).__name__}): {error}", file=sys.stderr)
        print("Check DATABASE_URL in the environment or .env.", file=sys.stderr)
    elif isinstance(error, urllib.error.URLError | TimeoutError):
        reason = getattr(error, "reason", error)
        api_url = settings.api_url if settings else DEFAULT_API_URL
        print(
            f"Cannot reach Slack at {api_url} ({reason}). Check this machine's "
            "network and proxy settings (or SLACK_API_URL).",
            file=sys.stderr,
        )
    else:
        return False
    return True


def _is(error: Exception, module: str, name: str) -> bool:
    """Whether `error` is a `module.name`, without importing `module` to find out: an
    error cannot come from a module that was never imported, and a command that needs no
    Slack (or no database) should not load its packages only to name their errors."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(error, getattr(loaded, name))


def run_due(settings: Settings, as_of: datetime | None) -> int:
    if not settings.bot_token:
        raise ConfigError("Posting reminders needs SLACK_BOT_TOKEN (in the environment or .env).")
    from bot.slack.services import build_services, make_client

    services = build_services(settings, make_client(settings))
    report = services.scheduler.run_due(as_of)
    print(
        f"Posted {report.posted} reminder(s) in {report.digests} digest(s) and single messages; "
        f"{report.deferred} wait for working hours; {len(report.failed)} failed."
    )
    for reference in report.failed:
        print(f"Could not post the reminder for {reference}; the next pass will retry.")
    return 1 if report.failed else 0


def sandbox(settings: Settings) -> int:
    """The real bot against a made-up workspace on 127.0.0.1, until Ctrl+C."""
    from bot.sandbox.run import Sandbox

    try:
        box = Sandbox(settings)
    except OSError as taken:
        print(
            f"Cannot start the sandbox on port {settings.port}: {taken.strerror}.", file=sys.stderr
        )
        print("Set PORT to a free port (in the environment or .env).", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # before anyone is told the URL
    print(f"Sandbox: open {box.url}", flush=True)
    print("A local try-out with a made-up workspace: nothing reaches Slack.", flush=True)
    try:
        box.wait()
    except KeyboardInterrupt:
        log.info("Stopped")
    finally:
        box.stop()
    return 0


def serve(settings: Settings) -> int:
    mode = settings.require_mode()
    from bot.slack.app import create_app
    from bot.slack.services import build_services, make_client

    services = build_services(settings, make_client(settings))
    app = create_app(settings, services)
    scheduler = services.scheduler_thread()
    scheduler.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("Connecting to Slack in Socket Mode")
            handler = SocketModeHandler(app, settings.app_token)
            _freeze_start_up()
            handler.start()
        else:
            from bot.slack.http_server import create_http_server

            assert settings.signing_secret  # require_mode checked it
            server = create_http_server(
                app,
                signing_secret=settings.signing_secret,
                ready=services.db.is_reachable,
                port=settings.port,
            )
            log.info("Serving Slack requests at http://0.0.0.0:%s/slack/events", settings.port)
            _freeze_start_up()
            server.run()
    except KeyboardInterrupt:
        log.info("Stopped")
    finally:
        scheduler.stop()
    return 0


def _freeze_start_up() -> None:
    """What was built to start (modules, flows, the app) lives as long as the process:
    take it out of the cyclic collector's full passes, which otherwise walk all of it
    while holding the GIL (60-70 ms here, delaying every ack in flight)."""
    gc.collect()
    gc.freeze()


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time; use e.g. 2027-03-01T09:00"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


if __name__ == "__main__":
    sys.exit(main())
