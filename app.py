"""Partnership check bot: the command line.

python app.py               run the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)
python app.py db upgrade    apply database migrations and exit
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.db import Database
from bot.settings import ConfigError, Settings
from flows import FlowDefinitionError

log = logging.getLogger("partnership-check")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Partnership check Slack bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the bot (the default)")
    db_parser = commands.add_parser("db", help="database maintenance")
    db_parser.add_argument("action", choices=["upgrade"], help="apply all migrations")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level)
        if args.command == "db":
            Database(settings.database_url).upgrade()
            print("Database is up to date.")
            return 0
        return serve(settings)
    except (ConfigError, FlowDefinitionError) as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"Cannot use the database ({type(error).__name__}): {error}", file=sys.stderr)
        print("Check DATABASE_URL in the environment or .env.", file=sys.stderr)
        return 2


def serve(settings: Settings) -> int:
    mode = settings.require_mode()
    from bot.slack_app import create_app  # after the checks: it connects to the database

    app = create_app(settings)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("Connecting to Slack in Socket Mode")
            SocketModeHandler(app, settings.app_token).start()
        else:
            from bot.http_server import create_http_server

            server = create_http_server(app, port=settings.port)
            log.info("Serving Slack requests at http://0.0.0.0:%s/slack/events", settings.port)
            server.run()
    except KeyboardInterrupt:
        log.info("Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
