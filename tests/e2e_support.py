"""Shared helpers for the end-to-end tests (`tests/test_e2e_*.py`).

Everything here works from the outside: it reads what the strict fake Slack recorded and
sends what Slack would send, through the driver. The bot's database is only read to
synchronise on work that shows nothing in Slack (`wait_for_draft`: a channel picked on
the summary; `wait_for_shown`: the bot recording which message shows the question),
never to assert.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.sandbox.fakeslack import FakeSlack
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.services import build_services, make_client
from bot.storage.db import Database
from bot.storage.models import Conversation
from flows import FlowRun, display_answer
from tests.bot_work import with_counted_work
from tests.conftest import BOT_TOKEN, PARTNERS, SIGNING_SECRET, TEAM_ID
from tests.proposer import FLOW, GOOD, Proposer, is_summary, question_in
from tests.slack_driver import BotServer, DriverResponse, SlackDriver, serve
from tests.transaction_guard import guard

TIP_TITLES = {tip.id: tip.title for tip in FLOW.tips}
FLAG_TIP = {rule.id: rule.tip for rule in FLOW.flags}
RULES = {rule.id: rule for rule in FLOW.flags}

# Run a journey on SQLite and on Postgres (skipped, saying why, without TEST_DATABASE_URL).
BOTH_DATABASES = pytest.mark.parametrize(
    "database",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)


def proposal(**changes: Any) -> dict[str, Any]:
    """The GOOD proposal (verdict Proceed) with some answers changed."""
    return {**GOOD, **changes}


def escape(text: str) -> str:
    """What user text must look like in mrkdwn (Slack's three characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- running the bot ------------------------------------------------------------------


@contextmanager
def running_bot(
    fake: FakeSlack, database_url: str, partnership_channel: str | None = PARTNERS
) -> Iterator[BotServer]:
    """The real bot (`create_app(settings)`) served by the real HTTP server on a free port,
    stoppable mid-test (restarts); the `bot_server` fixture is one for the whole test.

    Its work pool is counted, for `FakeSlack.wait_idle`. When it stops, its work is
    finished and the database engine disposed, as when the process exits; a Slack call
    made inside a unit of work (tests/transaction_guard.py) then fails the test.
    """
    settings = Settings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=fake.api_url,
        database_url=database_url,
        partnership_channel=partnership_channel,
    )
    services, pool = with_counted_work(build_services(settings, make_client(settings)))
    watch = guard(services)
    app = create_app(settings, services)
    unattend = fake.attend(pool.settle)
    try:
        with serve(app) as base_url:
            yield BotServer(app=app, settings=settings, base_url=base_url, services=services)
    finally:
        unattend()
        pool.shutdown(wait=True)  # no work still runs against a fake about to stop
        services.db.close()
    assert not watch.violations, "\n".join(watch.violations)


def driver_for(bot: BotServer, fake: FakeSlack) -> SlackDriver:
    return SlackDriver(bot.base_url, SIGNING_SECRET, fake, team_id=TEAM_ID)


# --- a proposer with a few more moves ---------------------------------------------------


def question_id(message: dict[str, Any]) -> str | None:
    question = question_in(message)
    return question.id if question else None


class Journey(Proposer):
    """A `Proposer` that can also stop half-way, go on from any message, and read notices.

    Give it the test's `database_url` to use `settled`.
    """

    def __init__(
        self, slack: SlackDriver, fake: FakeSlack, user: str, database_url: str | None = None
    ) -> None:
        super().__init__(slack, fake, user)
        self.database_url = database_url

    def settled(self, message: dict[str, Any]) -> dict[str, Any]:
        """Wait until the bot has recorded `message` as the one showing the check.

        The bot saves which message shows the current question just after posting it;
        a step that overtakes that is handled, but the pressed message is then closed a
        moment later by the overtaken post. Tests that assert what a pressed message
        turns into wait for this first, as a person's reading time would.
        """
        assert self.database_url, "Journey(..., database_url=...) is needed to settle"
        wait_for_shown(self.fake, self.database_url, self.user, message["ts"])
        return message

    def run_to(self, answers: dict[str, Any], stop_at: str) -> dict[str, Any]:
        """Start a check and answer until question `stop_at` is asked; return its message."""
        return self.go_on(self.start(), answers, stop_at)

    def go_on(
        self, message: dict[str, Any], answers: dict[str, Any], stop_at: str | None = None
    ) -> dict[str, Any]:
        """From a question message, answer until `stop_at` (or the summary) is shown."""
        for _ in range(len(FLOW.questions) + 2):
            if is_summary(message) or question_id(message) == stop_at:
                if stop_at is not None:
                    assert question_id(message) == stop_at, f"never asked {stop_at}"
                return message
            question = question_in(message)
            assert question is not None, f"not a question: {message['text']}"
            assert question.id in answers, f"no answer given for {question.id}"
            message = self.answer(message, answers[question.id])
        raise AssertionError("the check never got there")

    def new_messages(self, after: int) -> list[dict[str, Any]]:
        """The bot's DM messages after mark `after` (from `count()`)."""
        return self.bot_messages(after)

    def wait_notice(self, after: int, containing: str) -> dict[str, Any]:
        """The first bot message after `after` whose text contains `containing`."""

        dm = self.dm

        def found() -> dict[str, Any] | None:
            for message in self.fake.messages(dm, bot_only=True, after=after):
                if containing in message["text"] or any(
                    containing in t for t in mrkdwn_texts(message["blocks"])
                ):
                    return message
            return None

        return self.fake.wait_for(
            found, channel=dm, message=f"a DM to {self.user} saying {containing!r}"
        )

    def wait_ephemeral(self, after: int = 0) -> dict[str, Any]:
        return self.fake.wait_for(
            lambda: self.fake.ephemerals(self.user)[after:][0],
            message=f"an ephemeral message to {self.user}",
        )

    def current(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message as it is shown now (after any chat.update)."""
        now = self.fake.message(message["channel"], message["ts"])
        assert now is not None
        return now

    def post(self, summary: dict[str, Any], channel: str = PARTNERS) -> dict[str, Any]:
        """Press Post on `summary` and return the channel message once its thread is there."""
        before = self.fake.count_messages(channel)
        response = self.slack.press(self.user, summary, action_id="post")
        assert response.status == 200
        posted = self.fake.wait_for(
            lambda: self.fake.messages(channel, after=before),
            channel=channel,
            message=f"a post in {channel}",
        )[0]
        self.fake.wait_for(
            lambda: self.posted_note(),
            channel=self.dm,
            message=f"{self.user} told where it was posted",
        )
        return self.fake.message(channel, posted["ts"]) or posted

    def posted_note(self) -> dict[str, Any] | None:
        """The DM message that says where the check was posted (the closed summary)."""
        for message in reversed(self.bot_messages()):
            if any("Posted to" in t for t in mrkdwn_texts(message["blocks"])):
                return message
        return None


# --- reading what Slack shows -----------------------------------------------------------


def texts_of(node: Any, kind: str) -> list[str]:
    """Every text object of `kind` ("mrkdwn" or "plain_text") in blocks or a view, in order."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += texts_of(value, kind)
    elif isinstance(node, list):
        for item in node:
            found += texts_of(item, kind)
    return found


def mrkdwn_texts(node: Any) -> list[str]:
    return texts_of(node, "mrkdwn")


def plain_texts(node: Any) -> list[str]:
    return texts_of(node, "plain_text")


def parsed_texts(message: dict[str, Any]) -> list[str]:
    """What Slack parses for links and mentions: the fallback text and every mrkdwn field."""
    return [message["text"], *mrkdwn_texts(message.get("blocks", []))]


def shown(message: dict[str, Any]) -> str:
    return "\n".join([*parsed_texts(message), *plain_texts(message.get("blocks", []))])


def verdict_of(message: dict[str, Any]) -> str:
    for text in mrkdwn_texts(message["blocks"]):
        match = re.search(r"\*Verdict: ([^*]+)\*", text)
        if match:
            return match.group(1)
    raise AssertionError(f"no verdict in {message['text']}")


_SUMMARY_FLAG = re.compile(r"^• (:\w+: )?(Critical|Warning|Sets the verdict): (.+)$")
# How the summary names each severity of the policy.
_SEVERITY_NAMED = {"critical": "critical", "warning": "warning", "sets the verdict": "verdict"}
# How the channel post marks each severity.
_SEVERITY_EMOJI = {
    ":red_circle:": "critical",
    ":large_orange_circle:": "warning",
    ":large_blue_circle:": "verdict",
}


def summary_flags(summary: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Red flags on the DM summary: tip title -> {(severity, reason)}."""
    titles = set(TIP_TITLES.values())
    flags: dict[str, set[tuple[str, str]]] = {}
    for block in summary["blocks"]:
        if block.get("type") != "section" or "text" not in block:
            continue
        head, _, rest = block["text"]["text"].partition("\n")
        title = head.strip("*")
        if not (head.startswith("*") and title in titles):
            continue
        for line in rest.splitlines():
            match = _SUMMARY_FLAG.match(line)
            if match:
                severity = _SEVERITY_NAMED[match.group(2).lower()]
                flags.setdefault(title, set()).add((severity, match.group(3)))
    return flags


def summary_conditions(summary: dict[str, Any]) -> list[str]:
    return [
        line.split("_Condition:_", 1)[1].strip()
        for text in mrkdwn_texts(summary["blocks"])
        for line in text.splitlines()
        if "_Condition:_" in line
    ]


_POST_CONDITION = re.compile(r"^• (:\w+:) (.+?)(?: _\((.+)\)_)?$")


def post_flags(post: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Red flags in the channel post, from its conditions listed under their tips:
    tip title -> {(severity, reason)}. (A long list shows only the critical ones.)"""
    titles = set(TIP_TITLES.values())
    flags: dict[str, set[tuple[str, str]]] = {}
    for text in mrkdwn_texts(post["blocks"]):
        lines = text.splitlines()
        if not lines or lines[0].split(" · ")[0] not in ("*Conditions*", "*Next step*"):
            continue
        tip = None
        for line in lines[1:]:
            if line.startswith("*") and line.strip("*") in titles:
                tip = line.strip("*")
            elif line.startswith("•"):
                match = _POST_CONDITION.match(line)
                assert match and tip, f"unreadable condition line {line!r}"
                flags.setdefault(tip, set()).add((_SEVERITY_EMOJI[match.group(1)], match.group(3)))
    return flags


def post_conditions(post: dict[str, Any]) -> list[str]:
    """The conditions listed in the channel post, in order."""
    return [
        match.group(2)
        for text in mrkdwn_texts(post["blocks"])
        if text.startswith(("*Conditions*", "*Next step*"))
        for line in text.splitlines()
        if (match := _POST_CONDITION.match(line))
    ]


def expected_flags(answers: dict[str, Any], *flag_ids: str) -> dict[str, set]:
    """tip title -> {(severity, reason)} for `flag_ids` raised by a check with `answers`:
    each flag's severity and reason are those of the case of its rule that the answers
    meet, or its Not sure / In progress words (so a test names the flags it expects, and
    the policy file says how each reads)."""
    stored = stored_answers(answers)
    flags: dict[str, set[tuple[str, str]]] = {}
    for flag_id in flag_ids:
        rule = RULES[flag_id]
        truth, case = rule.judge(stored)
        assert truth is not False, f"{flag_id} is not raised by these answers"
        if case is not None:
            severity, reason = case.severity, case.wording.reason
        else:
            severity, reason = "warning", rule.unknown_wording(stored)[1].reason
        flags.setdefault(TIP_TITLES[FLAG_TIP[flag_id]], set()).add((severity, escape(reason)))
    return flags


def stored_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers a check stores when answered with `answers` (by question id), walked
    through the engine so only the questions actually asked count."""
    run = FlowRun(FLOW, today=date.today())
    for _ in range(len(FLOW.questions) + 1):
        question = run.current
        if question is None:
            break
        value = answers[question.id]
        if question.more_messages and isinstance(value, list):
            for item in value:
                run.answer(item)
            if run.current is question:
                run.done()
        else:
            run.answer(value)
    return run.answers


def expected_answers(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(question text, answer as shown) for every question a check with `answers` asks."""
    stored = stored_answers(answers)
    return [
        (question.text, display_answer(question, question.value_in(stored)))
        for question in FLOW.applicable(stored)
    ]


def ack_blocks(response: DriverResponse) -> dict[str, Any]:
    """The message a slash command's acknowledgement shows (text and blocks)."""
    assert response.status == 200, response.text
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return {"text": response.text, "blocks": []}  # Bolt answers a bare text as text/plain
    body = response.json()
    return {"text": body.get("text", ""), "blocks": body.get("blocks", [])}


# --- concurrency and synchronisation ------------------------------------------------------


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` on their own threads, released together by a barrier; their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def _wait_for_active(
    fake: FakeSlack,
    database_url: str,
    user: str,
    column: Any,
    holds: Callable[[list[Any]], bool],
    message: str,
) -> None:
    """Wait until `column` of `user`'s active conversations satisfies `holds`."""
    db = Database(database_url)
    try:

        def check() -> bool:
            with db.reading() as session:
                values = session.scalars(
                    select(column).where(
                        Conversation.user_id == user, Conversation.status == "active"
                    )
                ).all()
            return holds(list(values))

        fake.wait_for(check, message=message)
    finally:
        db.close()


def wait_for_draft(fake: FakeSlack, database_url: str, user: str, key: str, value: Any) -> None:
    """Wait until the bot has saved a menu pick (it shows nothing in Slack)."""
    _wait_for_active(
        fake,
        database_url,
        user,
        Conversation.draft,
        lambda drafts: any((draft or {}).get(key) == value for draft in drafts),
        f"{user}'s {key} draft saved as {value!r}",
    )


def wait_for_shown(fake: FakeSlack, database_url: str, user: str, ts: str) -> None:
    """Wait until `user`'s active check records message `ts` as its current message."""
    _wait_for_active(
        fake,
        database_url,
        user,
        Conversation.message_ts,
        lambda shown: ts in shown,
        f"{user}'s check showing message {ts}",
    )


def replay_press(
    slack: SlackDriver,
    user: str,
    snapshot: dict[str, Any],
    action_id: str | None = None,
    value: str | None = None,
) -> DriverResponse:
    """Press a button on `snapshot`, a message AS IT WAS when the test read it.

    Slack clients can show an out-of-date copy of a message (another device, a slow
    update), so a press may carry buttons the bot has since replaced. The driver's `press`
    only clicks the current version; this builds the same signed payload from the old one.
    """
    matches = [
        (block["block_id"], element)
        for block in snapshot["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
        and (action_id is None or element.get("action_id") == action_id)
        and (value is None or element.get("value") == value)
    ]
    assert len(matches) == 1, f"{len(matches)} buttons match in {snapshot['text']}"
    block_id, button = matches[0]
    action = {
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": button["text"],
        "type": "button",
        "value": button["value"],
        "action_ts": "1700000000.000001",
    }
    wire = {k: v for k, v in snapshot.items() if k not in ("channel", "history", "reply_count")}
    if wire.get("thread_ts") is None:
        wire.pop("thread_ts", None)
    container = {
        "type": "message",
        "message_ts": snapshot["ts"],
        "channel_id": snapshot["channel"],
        "is_ephemeral": False,
    }
    return slack._message_action(user, wire, container, action)


def press_payload(
    slack: SlackDriver,
    fake: FakeSlack,
    user: str,
    message: dict[str, Any],
    action_id: str | None = None,
    value: str | None = None,
) -> dict[str, Any]:
    """A block_actions payload for `user` pressing an element of `message`, built by hand.

    For what the driver will not send: presses by someone who cannot see the message,
    and requests to be sent unsigned or badly signed.
    """
    current = fake.wire_message(message["channel"], message["ts"])
    assert current is not None
    matches = [
        (block["block_id"], element)
        for block in current["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
        if (action_id is None or element.get("action_id") == action_id)
        and (value is None or element.get("value") == value)
    ]
    assert len(matches) == 1, f"{len(matches)} elements match in {current['text']}"
    block_id, element = matches[0]
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element["type"],
        "action_ts": "1700000000.000002",
    }
    if element["type"] == "button":
        action.update(text=element["text"], value=element["value"])
    else:  # a static_select: pick its first option
        action["selected_option"] = element["options"][0]
    return {
        "type": "block_actions",
        "user": slack._user(user),
        "api_app_id": slack.api_app_id,
        "token": "unused-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
            "is_ephemeral": False,
        },
        "trigger_id": fake.new_trigger_id(),
        "team": {"id": slack.team_id, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message["channel"], "name": "directmessage"},
        "state": {"values": {}},
        "response_url": fake.new_response_url(),
        "actions": [action],
        "message": current,
    }


def foreign_press(
    slack: SlackDriver,
    fake: FakeSlack,
    user: str,
    message: dict[str, Any],
    action_id: str | None = None,
    value: str | None = None,
) -> DriverResponse:
    """`user` sends a signed block_actions naming a button of someone else's message.

    The driver refuses (`user` cannot see another person's DM), so the payload is built
    by hand: the button, container and message are the other person's, the user is not.
    """
    return slack._interactive(press_payload(slack, fake, user, message, action_id, value))
