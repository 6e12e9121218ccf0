"""The same thing twice changes things once: stale and double presses, retried events,
racing presses, several people at once, and people acting on someone else's check."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import (
    BOTH_DATABASES,
    Journey,
    at_once,
    expected_flags,
    foreign_press,
    mrkdwn_texts,
    proposal,
    question_id,
    replay_press,
    shown,
    summary_flags,
    verdict_of,
)
from tests.proposer import GOOD, is_summary
from tests.slack_driver import DriverResponse, SlackDriver

STALE = "That button belongs to a step you've already taken"


def _value(message: dict[str, Any], option: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["value"].endswith(f".{option}"):
                return element["value"]
    raise AssertionError(f"no {option} button in {message['text']}")


def _typed_event(slack: SlackDriver, fake: FakeSlack, user: str, text: str) -> dict[str, Any]:
    """The message event for `user` typing `text` in their DM (recorded in the fake)."""
    channel = fake.dm_channel(user)
    message = fake.add_user_message(channel, user, text)
    return {
        "type": "message",
        "text": text,
        "user": user,
        "ts": message["ts"],
        "team": slack.team_id,
        "channel": channel,
        "event_ts": message["ts"],
        "channel_type": "im",
    }


# --- stale presses ----------------------------------------------------------------------


def test_a_press_on_an_older_copy_of_a_question_does_nothing_but_explain(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    """`resume` shows the question again; after answering the new copy, the old copy's
    buttons are out of date."""
    alice = Journey(slack, fake_slack, ALICE, database_url)
    old = alice.run_to(GOOD, "user_outcomes")
    seen = alice.count()
    slack.dm(ALICE, "resume")
    new = alice.settled(alice.wait_for_prompt(seen))
    assert question_id(new) == "user_outcomes"
    measuring = alice.settled(alice.answer(new, "yes"))
    assert question_id(measuring) == "measuring"

    seen = alice.count()
    response = slack.press(ALICE, old, value=_value(old, "no"))
    assert response.status == 200
    note = alice.wait_ephemeral()
    assert STALE in note["text"]
    fake_slack.wait_idle()
    assert alice.count() == seen
    assert alice.current(measuring)["blocks"] == measuring["blocks"]
    # The answer given stands ("Yes"), and the check goes on from where it was.
    assert ":white_check_mark: *Yes*" in "\n".join(mrkdwn_texts(alice.current(new)["blocks"]))
    assert question_id(alice.answer(measuring, GOOD["measuring"])) == "evaluation"
    assert fake_slack.errors == []


def test_buttons_on_a_message_shown_before_it_was_updated_are_stale(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    """A client still showing a question's old version (buttons the bot since removed)."""
    alice = Journey(slack, fake_slack, ALICE, database_url)
    question = alice.settled(alice.run_to(GOOD, "milestones"))
    nxt = alice.settled(alice.answer(question, "yes"))
    assert question_id(nxt) == "reviews"

    seen = alice.count()
    for action in ({"value": _value(question, "no")}, {"action_id": "back"}):
        replay_press(slack, ALICE, question, **action)
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(ALICE)) == 2)
    fake_slack.wait_idle()
    assert all(STALE in e["text"] for e in fake_slack.ephemerals(ALICE))
    assert alice.count() == seen
    assert alice.current(nxt)["blocks"] == nxt["blocks"]
    assert question_id(alice.answer(nxt, GOOD["reviews"])) == "first_review_date"
    assert fake_slack.errors == []


# --- double presses -------------------------------------------------------------------------


def _press_answer(
    slack: SlackDriver, question: dict[str, Any], answer: str | dict[str, str]
) -> DriverResponse:
    """Alice answers `question`: a button, or a group's radio buttons then Continue; the
    response to the press that answers it."""
    if isinstance(answer, str):
        return slack.press(ALICE, question, value=_value(question, answer))
    for part, chosen in answer.items():
        assert slack.select_in_block(ALICE, question, f"part:{part}", chosen).status == 200
    return slack.press(ALICE, question, action_id="parts_done")


@pytest.mark.parametrize(
    ("asked", "answer", "following"),
    [
        ("user_outcomes", "no", "measuring"),  # an answer button
        ("measuring", {"measures": "some", "baseline": "no"}, "evaluation"),  # Continue
    ],
)
def test_the_same_click_delivered_twice_answers_once(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    database_url: str,
    asked: str,
    answer: str | dict[str, str],
    following: str,
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    question = alice.settled(alice.run_to(GOOD, asked))
    seen = alice.count()
    first = _press_answer(slack, question, answer)
    nxt = alice.wait_for_prompt(seen)
    again = slack._interactive(first.payload)  # the very same payload, signed afresh
    assert again.status == 200
    alice.wait_ephemeral()
    fake_slack.wait_idle()
    assert alice.new_messages(seen) == [alice.current(nxt)]
    assert question_id(nxt) == following
    assert len(alice.current(question)["history"]) == 1  # closed once, not twice
    assert fake_slack.errors == []


@BOTH_DATABASES
def test_two_presses_at_the_same_moment_advance_once(
    database: str, slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    question = alice.settled(alice.run_to(GOOD, "form"))
    seen = alice.count()
    value = _value(question, "informal")
    responses: list[DriverResponse] = at_once(
        slack.pressing(ALICE, question, value=value),
        slack.pressing(ALICE, question, value=value),
    )
    assert [r.status for r in responses] == [200, 200]
    nxt = alice.wait_for_prompt(seen)
    alice.wait_ephemeral()
    fake_slack.wait_idle()
    assert [question_id(m) for m in alice.new_messages(seen)] == ["costs"]
    assert len(fake_slack.ephemerals(ALICE)) == 1
    assert len(alice.current(question)["history"]) == 1

    # Two different answers racing: exactly one is taken.
    alice.settled(nxt)
    seen = alice.count()
    at_once(
        slack.pressing(ALICE, nxt, value=_value(nxt, "both")),
        slack.pressing(ALICE, nxt, value=_value(nxt, "neither")),
    )
    after = alice.wait_for_prompt(seen)
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(ALICE)) == 2)
    fake_slack.wait_idle()
    assert [question_id(m) for m in alice.new_messages(seen)] == ["objectives"]
    closed = alice.current(nxt)
    assert len(closed["history"]) == 1
    taken = [
        label
        for label in ("Both", "Neither")
        if f":white_check_mark: *{label}*" in "\n".join(mrkdwn_texts(closed["blocks"]))
    ]
    assert len(taken) == 1
    summary = alice.go_on(after, GOOD)
    # The answer taken in the first race stands ...
    assert "*Form:* Informal short-term project" in "\n".join(mrkdwn_texts(summary["blocks"]))
    # ... and so does the one taken in the second.
    expected = proposal(form="informal", costs="neither" if taken == ["Neither"] else "both")
    raised = ("costs-unknown",) if taken == ["Neither"] else ()
    assert summary_flags(summary) == expected_flags(expected, *raised)
    assert fake_slack.errors == []


# --- retried events ----------------------------------------------------------------------------


def test_a_retried_answer_event_is_applied_once(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    first = alice.settled(alice.start())
    seen = alice.count()
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    slack.dm(ALICE, "Integrated discharge team", event_id=event_id)
    organisations = alice.wait_for_prompt(seen)
    assert question_id(organisations) == "organisations"
    for retry in (1, 2, 3):
        response = slack.dm(ALICE, "ignored: a retry replays the original", event_id, retry)
        assert response.status == 200
    fake_slack.wait_idle()
    assert alice.new_messages(seen) == [alice.current(organisations)]
    assert len(fake_slack.messages(alice.dm)) == len(alice.bot_messages()) + 1  # one user msg
    assert "Integrated discharge team" in alice.current(first)["text"]
    assert question_id(alice.answer(organisations, GOOD["organisations"])) == "kinds"
    assert fake_slack.errors == []


@pytest.mark.parametrize(
    ("asked", "typed", "following", "shown_back"),
    [
        # A typed list answered in one message.
        (
            "organisations",
            GOOD["organisations"],
            "kinds",
            "Northshire NHS Foundation Trust (lead), Northshire County Council, "
            "Age UK Northshire (3 in all)",
        ),
        # One item of a list sent over several messages: kept once, not twice.
        ("objectives", "Cut delayed discharges by a third", "objectives", None),
    ],
)
def test_a_retry_racing_the_first_delivery_is_applied_once(
    slack: SlackDriver,
    fake_slack: FakeSlack,
    asked: str,
    typed: str,
    following: str,
    shown_back: str | None,
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, asked)
    seen = alice.count()
    event = _typed_event(slack, fake_slack, ALICE, typed)
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    at_once(
        lambda: slack.event(event, event_id=event_id),
        lambda: slack.event(event, event_id=event_id, retry_num=1),
    )
    nxt = alice.wait_for_prompt(seen)
    fake_slack.wait_idle()
    assert [question_id(m) for m in alice.new_messages(seen)] == [following]
    if shown_back is not None:
        fake_slack.wait_for(
            lambda: f":white_check_mark: *{shown_back}*" in shown(alice.current(question)),
            message="the answer shown back once",
        )
        assert question_id(alice.answer(nxt, GOOD[following])) == "problem"
    else:
        so_far = shown(alice.current(nxt))
        assert "1. Cut delayed discharges by a third" in so_far and "2." not in so_far
        assert question_id(alice.send_items(nxt, GOOD["objectives"][1:])) == "user_outcomes"
        both = "Cut delayed discharges by a third; More people home within 24 hours"
        fake_slack.wait_for(
            lambda: any(f":white_check_mark: *{both}*" in shown(m) for m in alice.bot_messages()),
            message="the two objectives shown back",
        )
    assert fake_slack.errors == []


def test_retried_new_help_back_and_invalid_answer_events_are_answered_once(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    ids = {word: f"Ev{uuid.uuid4().hex[:10].upper()}" for word in ("new", "help", "bad")}
    slack.dm(ALICE, "new", event_id=ids["new"])
    first = alice.wait_for_prompt()
    slack.dm(ALICE, "new", event_id=ids["new"], retry_num=1)
    seen = alice.count()
    slack.dm(ALICE, "help", event_id=ids["help"])
    alice.wait_notice(seen, "*About the proposal*")
    slack.dm(ALICE, "help", event_id=ids["help"], retry_num=1)
    seen = alice.count()
    slack.dm(ALICE, "   ", event_id=ids["bad"])
    alice.wait_notice(seen, "can't be empty")
    slack.dm(ALICE, "   ", event_id=ids["bad"], retry_num=2)
    fake_slack.wait_idle()
    texts = [m["text"] for m in alice.bot_messages()]
    assert sum("Let's check this partnership" in t for t in texts) == 1
    assert sum("About the proposal*" in t for t in texts) == 1
    assert sum("can't be empty" in t for t in texts) == 1
    assert [question_id(m) for m in alice.bot_messages() if question_id(m)] == ["name"]
    organisations = alice.answer(first, "A name")
    assert question_id(organisations) == "organisations"

    # A retried `back` goes back one step, not two.
    kinds = alice.answer(organisations, GOOD["organisations"])
    assert question_id(kinds) == "kinds"
    seen = alice.count()
    back = f"Ev{uuid.uuid4().hex[:10].upper()}"
    slack.dm(ALICE, "back", event_id=back)
    again = alice.wait_for_prompt(seen)
    assert question_id(again) == "organisations"
    slack.dm(ALICE, "back", event_id=back, retry_num=1)
    fake_slack.wait_idle()
    assert [question_id(m) for m in alice.new_messages(seen)] == ["organisations"]
    assert question_id(alice.answer(again, "Another trust, Another council")) == "kinds"
    assert fake_slack.errors == []


# --- several people at once -------------------------------------------------------------------

PEOPLE = {
    "U0PAT": (proposal(name="Falls prevention"), "Proceed"),
    "U0SAM": (
        proposal(name="Hospital at home", measuring={"measures": "all", "baseline": "no"}),
        "Proceed with conditions",
    ),
    "U0KIM": (
        proposal(
            name="Street triage",
            involvement={"frontline": "no", "users_involved": "once_running"},
        ),
        "Reconsider",
    ),
    "U0LEE": (
        proposal(
            name="Shared care records",
            lighter_route="yes",
            lighter_route_which="information_sharing",
        ),
        "Use a less formal route",
    ),
    "U0ROB": (
        proposal(name="Joint equipment store", coordinator="nobody"),
        "Proceed with conditions",
    ),
}


@pytest.mark.parametrize(
    ("database", "people"),
    [("sqlite", 5), pytest.param("postgres", 3, marks=pytest.mark.postgres)],
)
def test_several_people_checking_at_once_each_get_their_own_verdict(
    database: str, people: int, slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    users = list(PEOPLE)[:people]
    for user in users:
        fake_slack.add_user(user, real_name=user)

    def mine(user: str) -> dict[str, Any] | None:
        return next(
            (
                m
                for m in fake_slack.messages(PARTNERS)
                if f"<@{user}>" in "\n".join(mrkdwn_texts(m["blocks"]))
            ),
            None,
        )

    def check(user: str) -> tuple[str, dict[str, Any]]:
        person = Journey(slack, fake_slack, user)
        summary = person.complete(PEOPLE[user][0])
        assert is_summary(summary)
        assert verdict_of(summary) == PEOPLE[user][1]
        slack.press(user, summary, action_id="post")
        return user, fake_slack.wait_for(lambda: mine(user), message=f"{user}'s post")

    posts = dict(at_once(*(lambda u=u: check(u) for u in users)))
    fake_slack.wait_for(
        lambda: all(mine(user)["reply_count"] >= 1 for user in users), message="all threads"
    )
    fake_slack.wait_idle()
    assert len(fake_slack.messages(PARTNERS)) == people
    references = set()
    for user in users:
        answers, verdict = PEOPLE[user]
        post = posts[user]
        references.add(post["text"].split(" ", 1)[0])
        assert answers["name"] in post["text"]
        assert verdict_of(post) == verdict
    assert references == {f"P-{n}" for n in range(1, people + 1)}
    assert fake_slack.errors == []


# --- someone else's conversation --------------------------------------------------------------


def test_nobody_can_act_on_someone_elses_question(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    question = alice.settled(alice.run_to(GOOD, "user_outcomes"))
    seen = alice.count()
    presses = [{"value": _value(question, "no")}, {"action_id": "back"}, {"action_id": "cancel"}]
    for press in presses:
        assert foreign_press(slack, fake_slack, BOB, question, **press).status == 200
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(BOB)) == len(presses))
    foreign_press(slack, fake_slack, BOB, question, action_id="help")
    fake_slack.wait_idle()
    assert alice.count() == seen
    assert alice.current(question)["blocks"] == question["blocks"]
    assert fake_slack.ephemerals(ALICE) == []
    assert {e["channel"] for e in fake_slack.ephemerals(BOB)} == {fake_slack.dm_channel(BOB)}
    assert [m for m in fake_slack.messages(fake_slack.dm_channel(BOB)) if m.get("bot_id")] == []
    assert question_id(alice.answer(question, "yes")) == "measuring"
    assert fake_slack.errors == []


def test_nobody_can_post_change_or_discard_someone_elses_summary(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(GOOD))
    seen = alice.count()
    for action_id in ("post", "revise", "discard"):
        assert foreign_press(slack, fake_slack, BOB, summary, action_id=action_id).status == 200
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(BOB)) == 3)
    fake_slack.wait_idle()
    assert fake_slack.messages(PARTNERS) == []
    assert alice.count() == seen
    assert alice.current(summary)["blocks"] == summary["blocks"]
    post = alice.post(summary)
    assert f"<@{ALICE}>" in "\n".join(mrkdwn_texts(post["blocks"]))
    assert f"<@{BOB}>" not in "\n".join(mrkdwn_texts(post["blocks"]))
    assert fake_slack.errors == []
