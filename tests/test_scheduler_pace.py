"""Review reminders keep Slack's pace of about one message a second in a channel, whichever
scheduler process posts them (two `run-due` passes at once used to post 0.02 s apart)."""

from __future__ import annotations

from datetime import date

from bot.core.scheduler import Scheduler
from bot.sandbox.fakeslack import FakeSlack
from bot.slack.messenger import Messenger
from bot.slack.outbox import Outbox
from bot.slack.presenter import SlackNotifier
from bot.slack.services import make_client, utc_now
from bot.storage.db import Database
from tests.conftest import PARTNERS
from tests.e2e_support import BOTH_DATABASES, at_once
from tests.review_support import local, seed_due_reminders
from tests.slack_driver import BotServer

MONDAY = date(2029, 3, 5)


@BOTH_DATABASES
def test_two_passes_at_once_keep_a_second_between_posts_in_one_channel(
    fake_slack: FakeSlack, bot_server: BotServer, database_url: str, database: str
) -> None:
    seed_due_reminders(database_url, {PARTNERS: 2}, MONDAY)  # two: each its own message
    other_process = Database(database_url)
    messenger = Messenger(make_client(bot_server.settings, wait_out_rate_limits=False))
    try:
        second = Scheduler(
            other_process,
            SlackNotifier(messenger, Outbox(other_process, messenger, clock=utc_now)),
            clock=bot_server.services.scheduler.clock,
        )
        moment = local(MONDAY, 9, 30)
        reports = at_once(
            lambda: bot_server.services.scheduler.run_due(moment), lambda: second.run_due(moment)
        )
    finally:
        other_process.close()
    posts = [
        call
        for call in fake_slack.calls_to("chat.postMessage")
        if call.args.get("channel") == PARTNERS and call.ok
    ]
    assert sum(report.posted for report in reports) == 2
    assert len(posts) == 2, "each reminder once"
    assert posts[1].time - posts[0].time >= 0.9, "a second apart, though two passes posted"
