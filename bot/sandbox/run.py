"""The sandbox, wired: a fake Slack workspace, the real bot (the same Bolt app, listeners
and HTTP front door as in production, reached by signed requests), the reminder
scheduler on a clock that can jump, and the page that plays Slack's client. All of it
listens on 127.0.0.1 only, and nothing leaves the machine."""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from dataclasses import replace
from typing import Any

from bot.sandbox.client import SlackClient
from bot.sandbox.clock import MovableClock
from bot.sandbox.payloads import NotOffered
from bot.sandbox.screen import screen
from bot.sandbox.web import HOST, PageServer
from bot.sandbox.workspace import CHANNEL_ID, PEOPLE, Secrets, new_workspace
from bot.settings import Settings

log = logging.getLogger(__name__)
WAKE_EVERY = 0.5  # seconds the foreground waits at most before it sees a signal


class Sandbox:
    """Starts everything on construction; `url` is the page; `stop()` ends it all."""

    def __init__(self, settings: Settings, port: int | None = None) -> None:
        from bot.slack.app import create_app
        from bot.slack.http_server import create_http_server
        from bot.slack.services import build_services, make_client

        keys = Secrets.made_up()
        self.fake = new_workspace(keys)
        self.settings = replace(
            settings,
            bot_token=keys.bot_token,
            signing_secret=keys.signing_secret,
            app_token=None,
            api_url=self.fake.api_url,
            database_url=settings.sandbox_database_url,
            partnership_channel=CHANNEL_ID,
        )
        self.clock = MovableClock()
        try:
            self.services = build_services(
                self.settings, make_client(self.settings), clock=self.clock
            )
            app = create_app(self.settings, self.services)
            self.bot = create_http_server(
                app,
                signing_secret=keys.signing_secret,
                ready=self.services.db.is_reachable,
                host=HOST,
                port=0,
            )
            self.page = PageServer(
                settings.port if port is None else port, self.show, self.act, self.jump
            )
        except BaseException:
            self.fake.stop()
            raise
        self._bot_thread = threading.Thread(target=self.bot.run, name="sandbox-bot", daemon=True)
        self._bot_thread.start()
        self.slack_client = SlackClient(
            self.fake,
            f"http://{HOST}:{self.bot.effective_port}",
            keys.signing_secret,
            conversations={CHANNEL_ID},
        )
        self.scheduler = self.services.scheduler_thread()
        self.scheduler.start()
        self.page.thread.start()
        log.info("Sandbox database: %s", self.settings.database_shown)

    @property
    def url(self) -> str:
        return self.page.url

    def wait(self) -> None:
        """Block until stopped (the command line's foreground). The join wakes up twice a
        second: a SIGTERM that the OS hands to another thread only sets a flag, and the
        main thread runs its handler when it next wakes, never inside an endless join."""
        while self.page.thread.is_alive():
            self.page.thread.join(timeout=WAKE_EVERY)

    def stop(self) -> None:
        self.page.shutdown()
        self.page.server_close()
        self.scheduler.stop()
        self.scheduler.join(timeout=10)  # a pass under way finishes before the fake goes
        self.bot.task_dispatcher.shutdown()
        with suppress(OSError):  # the loop may have closed its trigger already
            self.bot.trigger.pull_trigger(self.bot.close)
        self._bot_thread.join(timeout=5)
        self.services.work.pool.shutdown(wait=True)
        self.fake.stop()
        self.services.db.close()

    # ---- what the page asks -------------------------------------------------------------

    def show(self, query: dict[str, str]) -> dict[str, Any]:
        user = query.get("user") if query.get("user") in {p.id for p in PEOPLE} else None
        return screen(
            self.fake,
            self.clock,
            self.clock.moved,
            user or PEOPLE[0].id,
            query.get("channel"),
            query.get("thread"),
        )

    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        user = body.get("user")
        if user not in {p.id for p in PEOPLE}:
            return {"ok": False, "problem": "Pick who you are first."}
        try:
            if body.get("kind") == "send":
                problem = self.slack_client.send(
                    user,
                    str(body.get("channel")),
                    str(body.get("text", "")),
                    _text(body.get("thread")),
                )
            elif body.get("kind") == "home":
                problem = self.slack_client.open_home(user)
            elif body.get("kind") == "action":
                problem = self.slack_client.act(
                    user,
                    dict(body.get("where") or {}),
                    str(body.get("block_id")),
                    str(body.get("action_id")),
                    body.get("chosen"),
                    dict(body.get("choices") or {}),
                )
            else:
                problem = "The page asked for something the sandbox does not do."
        except NotOffered as gone:
            problem = f"That is not there any more ({gone})."
        return {"ok": problem is None, "problem": problem}

    def jump(self) -> dict[str, Any]:
        """Move the clock to the next review reminder and run the scheduler's pass there."""
        due = self.services.scheduler.next_due()
        if due is None:
            return {
                "ok": False,
                "problem": "No review is scheduled yet: post a check that goes ahead "
                "(Proceed, or Proceed with conditions) first.",
            }
        self.clock.jump_to(due)
        report = self.services.scheduler.run_due(self.clock())
        return {
            "ok": True,
            "note": f"The clock moved to {due:%a %d %b %Y %H:%M} UTC; "
            f"{report.posted} reminder(s) posted.",
        }


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
