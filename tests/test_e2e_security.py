"""Requests Slack did not sign are refused; what people type can neither ping a channel nor
break a message, however long or hostile it is."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.sandbox.fakeslack import FakeSlack, block_kit_errors
from bot.sandbox.payloads import FORM, JSON
from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import (
    BOTH_DATABASES,
    Journey,
    ack_blocks,
    escape,
    expected_answers,
    expected_flags,
    mrkdwn_texts,
    parsed_texts,
    plain_texts,
    post_flags,
    press_payload,
    proposal,
    question_id,
    verdict_of,
)
from tests.proposer import FLOW, GOOD
from tests.slack_driver import SlackDriver

# --- signatures ------------------------------------------------------------------------------


def _dm_event_body(slack: SlackDriver, fake: FakeSlack, user: str, text: str) -> bytes:
    channel = fake.dm_channel(user)
    ts = f"{time.time():.6f}"
    envelope = {
        "token": "unused-verification-token",
        "team_id": slack.team_id,
        "api_app_id": slack.api_app_id,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "text": text,
            "user": user,
            "ts": ts,
            "team": slack.team_id,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im",
        },
    }
    return json.dumps(envelope).encode()


def _command_body(slack: SlackDriver, fake: FakeSlack, user: str, text: str = "") -> bytes:
    form = {
        "team_id": slack.team_id,
        "channel_id": fake.dm_channel(user),
        "user_id": user,
        "user_name": fake.user(user)["name"],
        "command": "/partnership",
        "text": text,
        "api_app_id": slack.api_app_id,
        "response_url": fake.new_response_url(),
        "trigger_id": fake.new_trigger_id(),
    }
    return urlencode(form).encode()


FORGERIES = {
    "bad signature": lambda slack, body: {
        **slack.sign(body),
        "X-Slack-Signature": "v0=" + "0" * 64,
    },
    "signed with another secret": lambda slack, body: {
        **SlackDriver(slack.url, "not-the-secret", slack.fake).sign(body)
    },
    "stale timestamp": lambda slack, body: slack.sign(body, timestamp=int(time.time()) - 600),
    "future timestamp": lambda slack, body: slack.sign(body, timestamp=int(time.time()) + 600),
    "no signature": lambda slack, body: {},
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_unsigned_or_stale_requests_are_refused_and_do_nothing(
    forgery: str, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    headers = FORGERIES[forgery]
    fake_slack.wait_idle()
    calls = len(fake_slack.calls)
    requests = [
        (_command_body(slack, fake_slack, ALICE), FORM),
        (_dm_event_body(slack, fake_slack, ALICE, "new"), JSON),
    ]
    for body, content_type in requests:
        response = slack.raw(body, {"Content-Type": content_type, **headers(slack, body)})
        assert response.status == 401, (forgery, response.status, response.text)
    fake_slack.wait_idle()
    assert len(fake_slack.calls) == calls  # the bot did nothing at all
    # The same requests, properly signed, do work: the refusal was the signature.
    assert slack.command(ALICE, "").status == 200
    fake_slack.wait_for(lambda: fake_slack.messages(fake_slack.dm_channel(ALICE)))


def test_a_tampered_press_and_a_replayed_old_press_are_refused_mid_check(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "user_outcomes")
    fake_slack.wait_idle()
    calls = len(fake_slack.calls)
    value = next(
        e["value"]
        for b in question["blocks"]
        for e in b.get("elements", [])
        if e.get("value", "").endswith(".no")
    )
    payload = press_payload(slack, fake_slack, ALICE, question, value=value)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    signed = slack.sign(body)
    tampered = body.replace(b"no%22", b"yes%22", 1)
    assert tampered != body
    for request_body, headers in (
        (tampered, signed),  # the body changed after signing
        (body, slack.sign(body, timestamp=int(time.time()) - 3600)),  # an old capture
    ):
        response = slack.raw(request_body, {"Content-Type": FORM, **headers})
        assert response.status == 401
    fake_slack.wait_idle()
    assert len(fake_slack.calls) == calls
    assert alice.current(question)["blocks"] == question["blocks"]
    assert fake_slack.ephemerals(ALICE) == []
    assert fake_slack.errors == []


# An answer to the organisations question, were it taken as one.
TYPED = "Age UK Northshire, Northshire NHS Foundation Trust"


def test_messages_that_are_not_answers_are_ignored(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Edits, bot messages and channel messages do not answer the question."""
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "organisations")  # a typed answer
    fake_slack.wait_idle()
    seen = alice.count()
    dm = fake_slack.dm_channel(ALICE)
    ts = f"{time.time():.6f}"
    base = {"type": "message", "channel": dm, "ts": ts, "event_ts": ts, "channel_type": "im"}
    in_channel = {"channel": PARTNERS, "channel_type": "channel"}
    for event in (
        {**base, "subtype": "message_changed", "message": {"text": TYPED, "user": ALICE}},
        {**base, "text": TYPED, "bot_id": "B0OTHER", "user": "U0OTHERBOT"},
        {**base, "text": TYPED, "user": ALICE, **in_channel},
        {**base, "subtype": "message_deleted", "previous_message": {"text": TYPED}},
    ):
        assert slack.event(event).status == 200
    fake_slack.wait_idle()
    assert alice.count() == seen
    assert alice.current(question)["blocks"] == question["blocks"]
    assert question_id(alice.answer(question, GOOD["organisations"])) == "kinds"
    assert fake_slack.errors == []


# --- hostile text ----------------------------------------------------------------------------

HOSTILE = "<!channel> & <@U0BOB> *bold*"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U0BOB&gt; *bold*"
# Every answer typed as free text: short and long text, the lead of the organisations
# (a typed list) and an objective (a list sent message by message).
HOSTILE_ANSWERS = {
    "name": HOSTILE,
    "organisations": f"{HOSTILE}, Northshire County Council",
    "problem": HOSTILE,
    "added_value": HOSTILE,
    "objectives": [HOSTILE],
}
ALLOWED_MARKUP = {f"<@{ALICE}>", f"<#{PARTNERS}>"}


def _unsafe(text: str) -> list[str]:
    """Markup Slack would act on that the bot did not mean: mentions, links, bare `&`."""
    problems = [m for m in re.findall(r"<[^<>]*>", text) if m not in ALLOWED_MARKUP]
    problems += re.findall(r"&(?!amp;|lt;|gt;)", text)
    return problems


def _check_safe(where: str, message: dict[str, Any]) -> None:
    for text in parsed_texts(message):
        assert _unsafe(text) == [], f"{where}: {text[:300]!r}"


def test_hostile_text_is_escaped_everywhere_it_is_shown(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    answers = proposal(**HOSTILE_ANSWERS, measuring={"measures": "all", "baseline": "no"})
    alice = Journey(slack, fake_slack, ALICE)
    message = alice.run_to(answers, "lighter_route")
    # A hostile reply to a choice question is quoted back, escaped.
    seen = alice.count()
    slack.dm(ALICE, HOSTILE)
    refusal = alice.wait_notice(seen, "didn't recognise")
    assert ESCAPED in refusal["text"]
    summary = alice.go_on(message, answers)
    post = alice.post(summary)
    thread = fake_slack.wait_for(
        lambda: (r := fake_slack.messages(PARTNERS, thread_ts=post["ts"])) and len(r) == 3 and r
    )
    slack.command(ALICE, "")  # a new check, so the list shows two
    listing = ack_blocks(slack.command(ALICE, "list"))
    slack.home_opened(ALICE)
    home = fake_slack.wait_for(lambda: fake_slack.home_view(ALICE))
    unknown = ack_blocks(slack.command(ALICE, HOSTILE))
    fake_slack.wait_idle()

    # Nothing anywhere pings or links what the person typed.
    for m in fake_slack.messages(fake_slack.dm_channel(ALICE)):
        if m.get("bot_id"):
            _check_safe(f"DM {m['text'][:40]!r}", m)
    _check_safe("channel post", post)
    for reply in thread:
        _check_safe("thread", reply)
    _check_safe("/partnership list", listing)
    _check_safe("unknown subcommand", unknown)
    for text in mrkdwn_texts(home["blocks"]):
        assert _unsafe(text) == [], text
    for ephemeral in fake_slack.ephemerals(ALICE):
        _check_safe("ephemeral", ephemeral)

    # And it is shown, escaped, where a reader needs it.
    assert ESCAPED in summary["text"]
    assert f"Check: {HOSTILE}" in plain_texts(summary["blocks"])  # plain text: not escaped
    assert ESCAPED in "\n".join(mrkdwn_texts(post["blocks"])) and ESCAPED in post["text"]
    answers_text = "\n".join(mrkdwn_texts(thread[0]["blocks"]))
    assert answers_text.count(ESCAPED) == len(HOSTILE_ANSWERS)  # each shown once
    assert ESCAPED in "\n".join(mrkdwn_texts(listing["blocks"]))
    assert ESCAPED in "\n".join(mrkdwn_texts(home["blocks"]))
    dm = "\n".join(t for m in alice.bot_messages() for t in mrkdwn_texts(m["blocks"]))
    assert f":white_check_mark: *{ESCAPED}*" in dm  # answered questions show it back
    assert fake_slack.errors == []


# --- very long answers ----------------------------------------------------------------------------

LONG_TEXT = ("problem", "added_value")  # up to 2,000 characters
SHORT_TEXT = ("name",)  # up to 150
# The longest answers the flow accepts: 2,000 characters of long text, 150 of short text,
# and lists of their most items (100 organisations, 3 objectives) of 300 characters each.
LONG_PLAIN = ("Integrated care across the county, " * 60)[:2000]
LONG_HOSTILE = ("R&D <North> & <South> " * 100)[:2000]
WORST_NAME = "<&>" * 50  # every character escapes to four or five


def longest_answers(text: str) -> dict[str, Any]:
    """The GOOD proposal with every typed answer as long as the flow allows, from `text`."""
    organisations, objectives = FLOW.question("organisations"), FLOW.question("objectives")
    assert organisations.max_items and objectives.max_items and organisations.max_length
    item = text.replace(",", "")[: organisations.max_length].strip()  # commas split it
    return proposal(
        **dict.fromkeys(LONG_TEXT, text),
        **dict.fromkeys(SHORT_TEXT, text[:150]),
        organisations=", ".join(f"{n}{item}"[: len(item)] for n in range(organisations.max_items)),
        objectives=[f"{n}{item}"[: len(item)] for n in range(objectives.max_items)],
        coordinator="nobody",
    )


@pytest.mark.parametrize("text", [LONG_PLAIN, LONG_HOSTILE], ids=["plain", "escaped"])
def test_the_longest_answers_keep_every_message_valid(
    text: str, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    assert len(text) == 2000
    answers = longest_answers(text)
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(answers)
    post = alice.post(summary)
    thread = fake_slack.wait_for(
        lambda: (r := fake_slack.messages(PARTNERS, thread_ts=post["ts"])) and len(r) == 3 and r
    )
    listing = ack_blocks(slack.command(ALICE, "list"))
    slack.home_opened(ALICE)
    fake_slack.wait_for(lambda: fake_slack.home_view(ALICE))
    fake_slack.wait_idle()
    # The fake rejects any message over Block Kit's limits: none was rejected.
    assert fake_slack.errors == []
    assert block_kit_errors(listing["blocks"]) == []
    assert verdict_of(summary) == "Proceed with conditions"
    assert verdict_of(post) == "Proceed with conditions"
    # Every organisation was counted (more than 8 raises its warning).
    assert post_flags(post) == expected_flags(answers, "many-partners", "no-coordinator")
    # The long answers are in the thread (cut with an ellipsis, not lost).
    answers_text = "\n".join(mrkdwn_texts(thread[0]["blocks"]))
    long_ones = {FLOW.question(q).text for q in (*LONG_TEXT, "organisations", "objectives")}
    checked = 0
    for asked, answer in expected_answers(answers):
        if asked in long_ones:
            assert f"*{escape(asked)}*\n{escape(answer)[:1000]}" in answers_text, asked
            checked += 1
    assert checked == len(long_ones)


def test_a_long_name_full_of_markup_keeps_the_verdict_and_proposer_in_view(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    summary = alice.complete(proposal(name=WORST_NAME))
    post = alice.post(summary)
    assert "Verdict: Proceed" in summary["text"]
    post_text = "\n".join(mrkdwn_texts(post["blocks"]))
    assert escape(WORST_NAME) in post_text
    assert "*Verdict: Proceed*" in post_text and f"<@{ALICE}>" in post_text
    assert post["text"].endswith(": Proceed (no red flags)")
    assert fake_slack.errors == []


def test_the_list_shows_every_check_even_with_long_names(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    alice.post(alice.complete(proposal(name="Falls prevention")))
    for n in range(5):  # five more checks, named and cancelled
        first = alice.start()
        alice.answer(first, f"{n}{WORST_NAME}"[:150])
        seen = alice.count()
        slack.dm(ALICE, "cancel")
        alice.wait_notice(seen, "Check cancelled")
    listing = ack_blocks(slack.command(ALICE, "list"))
    slack.home_opened(ALICE)
    home = fake_slack.wait_for(lambda: fake_slack.home_view(ALICE))
    assert fake_slack.errors == []
    for where, blocks in (("list", listing["blocks"]), ("home", home["blocks"])):
        text = "\n".join(mrkdwn_texts(blocks))
        assert text.count("— cancelled") == 5, where
        assert "*P-1* · Falls prevention — posted" in text, where


def test_typed_text_arrives_escaped_from_slack_and_is_shown_escaped_once(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Slack sends `&`, `<` and `>` in a message's text escaped; the bot takes them back
    to what was typed, so they are escaped once where shown, never twice."""
    alice = Journey(slack, fake_slack, ALICE)
    post = alice.post(alice.complete({**GOOD, "name": "Health & Care <North>"}))
    shown_text = "\n".join(mrkdwn_texts(post["blocks"]))
    assert "P-1 · Health &amp; Care &lt;North&gt;" in shown_text
    assert "&amp;amp;" not in shown_text and "&amp;lt;" not in shown_text
    listing = ack_blocks(slack.command(ALICE, "list"))
    assert "Health &amp; Care &lt;North&gt;" in "\n".join(mrkdwn_texts(listing["blocks"]))


@BOTH_DATABASES
def test_a_forged_id_too_large_for_the_database_names_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, database: str
) -> None:
    """Ids in buttons are the bot's own; a forged one beyond what the database holds (which
    Postgres would refuse to compare) is simply nothing: no error, nothing changed."""
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.start()
    forged = press_payload(slack, fake_slack, ALICE, question, action_id="cancel")
    forged["actions"][0]["value"] = "99999999999.1."
    invite = {
        **forged,
        "actions": [
            {**forged["actions"][0], "action_id": "invite_partners", "value": "99999999999"}
        ],
    }
    for payload in (forged, invite):
        assert slack._interactive(payload).status == 200
    fake_slack.wait_idle()
    assert "Unhandled error" not in caplog.text
    assert alice.current(question)["blocks"] == question["blocks"]


def test_a_press_in_the_name_of_someone_slack_does_not_know_changes_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """A signed press naming a person the workspace does not have (so Slack refuses to
    open a DM with them) changes nothing and is logged as a refusal, not as a bug."""
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.start()
    forged = press_payload(slack, fake_slack, ALICE, question, action_id="cancel")
    forged["user"] = {**forged["user"], "id": "U0NOBODY", "username": "nobody"}
    assert slack._interactive(forged).status == 200
    fake_slack.wait_idle()
    assert "Unhandled error" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    assert "user_not_found" in caplog.text
    assert alice.current(question)["blocks"] == question["blocks"]
