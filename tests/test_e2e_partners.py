"""Every partner's view, end to end over HTTP against the strict fake Slack: the proposer
invites one person per partner organisation, each answers for their own organisation in
their own DM, and the posted recommendation follows their answers in place."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.fakeslack import FakeSlack
from flows.schedule import holiday_calendar
from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import (
    BOTH_DATABASES,
    Journey,
    at_once,
    foreign_press,
    mrkdwn_texts,
    replay_press,
    verdict_of,
)
from tests.proposer import GOOD, is_summary
from tests.review_support import Clock, Passes, install_clock, local
from tests.slack_driver import BotServer, SlackDriver

CAROL, DAVE = "U0CAROL", "U0DAVE"
COUNCIL, AGE_UK = "Northshire County Council", "Age UK Northshire"
# A partner who agrees with the GOOD proposal on every topic.
CONTENT: dict[str, Any] = {
    "lighter_route": "no",
    "shares_objectives": "yes",
    "commitment": {"resources": "staff_only", "senior_signoff": "yes"},
    "exit_arrangements": "yes",
    "involvement": {"frontline": "already", "users_involved": "already"},
    "worries": None,
}


@pytest.fixture
def people(fake_slack: FakeSlack) -> None:
    fake_slack.add_user(CAROL, tz="Europe/London", real_name="Carol Example", name="carol")
    fake_slack.add_user(DAVE, tz="Europe/London", real_name="Dave Example", name="dave")


class Partner(Journey):
    """An invited person: reads their invitation, starts, answers and sends their view."""

    def invitation(self, after: int = 0) -> dict[str, Any]:
        return self.wait_notice(after, "asks you to give")

    def answer_all(self, invitation: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
        """Start from the invitation and answer every question; the summary."""
        seen = self.count()
        assert self.slack.press(self.user, invitation, action_id="view_start").status == 200
        message = self.wait_for_prompt(seen)
        while not is_summary(message):
            message = self.go_on(message, answers)
        return message

    def send(self, summary: dict[str, Any]) -> None:
        assert self.slack.press(self.user, summary, action_id="view_send").status == 200


def _texts(message: dict[str, Any]) -> str:
    return "\n".join(mrkdwn_texts(message["blocks"]))


def _posted(proposer: Journey, fake: FakeSlack) -> dict[str, Any]:
    summary = proposer.complete(GOOD)
    post = proposer.post(summary)
    assert verdict_of(post) == "Proceed"
    return post


def _invite_from_thread(
    proposer: Journey, fake: FakeSlack, post: dict[str, Any], picks: dict[int, str]
) -> dict[str, Any]:
    """Press Invite partners in the post's thread and pick a person per organisation
    (by its place in the list); the picker message in the proposer's DM."""
    thread = fake.wait_for(
        lambda: [
            m
            for m in fake.messages(PARTNERS, thread_ts=post["ts"])
            if m["text"] == "Conditions and partners' views"
        ],
        channel=PARTNERS,
        message="the invite message in the thread",
    )
    seen = proposer.count()
    assert proposer.slack.press(proposer.user, thread[0], action_id="invite_partners").status == 200
    picker = proposer.wait_notice(seen, "Pick one person per organisation")
    for index, user in picks.items():
        block = f"invite:{_check_of(picker)}:{index}"
        assert proposer.slack.select_in_block(proposer.user, picker, block, user).status == 200
        fake.wait_for(
            lambda user=user: f"<@{user}>" in _texts(proposer.current(picker)),
            channel=proposer.dm,
            message=f"{user} shown as asked",
        )
    return proposer.current(picker)


def _carol_asked_from_summary(proposer: Journey, summary: dict[str, Any]) -> Partner:
    """Press Invite partners on the summary and pick Carol for the third organisation;
    she has her invitation when this returns."""
    seen = proposer.count()
    assert proposer.slack.press(proposer.user, summary, action_id="invite_partners").status == 200
    picker = proposer.wait_notice(seen, "Pick one person per organisation")
    block = f"invite:{_check_of(picker)}:2"
    assert proposer.slack.select_in_block(proposer.user, picker, block, CAROL).status == 200
    carol = Partner(proposer.slack, proposer.fake, CAROL)
    carol.invitation()
    proposer.fake.wait_idle()
    return carol


def _check_of(picker: dict[str, Any]) -> str:
    block_id = next(
        b["block_id"] for b in picker["blocks"] if b.get("block_id", "").startswith("invite:")
    )
    return block_id.split(":")[1]


@BOTH_DATABASES
def test_two_partners_answer_at_once_and_the_post_follows_in_place(
    slack: SlackDriver, fake_slack: FakeSlack, people: None, database: str
) -> None:
    """The issue's journey: one partner disagrees on senior sign-off, another is not sure
    about resources; the post shows 2 of 2 answered, the disagreement with both views and
    the verdict, updated in place; a third person's press changes nothing."""
    proposer = Journey(slack, fake_slack, ALICE)
    post = _posted(proposer, fake_slack)
    picker = _invite_from_thread(proposer, fake_slack, post, {1: BOB, 2: CAROL})
    assert "asked, not answered yet" in _texts(picker)

    council, age_uk = Partner(slack, fake_slack, BOB), Partner(slack, fake_slack, CAROL)
    council_invite, age_uk_invite = council.invitation(), age_uk.invitation()
    assert f"*{COUNCIL}*'s view" in _texts(council_invite)
    assert "<@U0ALICE> asks you" in _texts(council_invite)

    # Someone else pressing Bob's Start changes nothing, and is told why.
    dave = Partner(slack, fake_slack, DAVE)
    assert foreign_press(slack, fake_slack, DAVE, council_invite, "view_start").status == 200
    told = dave.wait_ephemeral()
    assert "only they can answer it" in told["text"] or "only they can answer it" in _texts(told)

    disagree = {**CONTENT, "commitment": {"resources": "staff_only", "senior_signoff": "not_yet"}}
    unsure = {
        **CONTENT,
        "commitment": {"resources": "not_sure", "senior_signoff": "yes"},
        "worries": "Winter <pressures> on our home care staff",
    }
    summaries = at_once(
        lambda: council.answer_all(council_invite, disagree),
        lambda: age_uk.answer_all(age_uk_invite, unsure),
    )
    # The partner's questionnaire showed the objectives it asks about.
    shown = [v for m in council.bot_messages() for v in [m, *m["history"]]]
    assert any("Cut delayed discharges by a third" in _texts(v) for v in shown)
    updates_before = len(fake_slack.calls_to("chat.update"))
    at_once(lambda: council.send(summaries[0]), lambda: age_uk.send(summaries[1]))
    # Each summary is closed saying where the view went, its buttons gone.
    for partner, summary in zip((council, age_uk), summaries, strict=True):
        partner.wait_notice(0, "Thank you: your view is part of the check now")
        closed = partner.current(summary)
        assert f"Sent to <@{ALICE}>" in _texts(closed)
        assert not [b for b in closed["blocks"] if b["type"] == "actions" or "accessory" in b]

    def settled() -> dict[str, Any] | None:
        now = fake_slack.message(PARTNERS, post["ts"])
        return now if now and "2 of 2 have answered" in _texts(now) else None

    now = fake_slack.wait_for(settled, channel=PARTNERS, message="the post with both views")
    assert len(fake_slack.messages(PARTNERS)) == 1, "updated in place: no second post"
    assert len(fake_slack.calls_to("chat.update")) > updates_before
    text = _texts(now)
    assert verdict_of(now) == "Proceed with conditions"
    assert f"Senior sign-off: proposer yes · {COUNCIL} not yet · {AGE_UK} yes" in text, text
    assert f"{AGE_UK}:*" in text  # the Not sure flag, with whose view it is

    def notes() -> list[dict[str, Any]]:
        thread = fake_slack.messages(PARTNERS, thread_ts=post["ts"])
        return [m for m in thread if "has sent its view" in _texts(m)]

    fake_slack.wait_for(lambda: len(notes()) == 2, channel=PARTNERS, message="a note per view")
    fake_slack.wait_idle()
    assert len(notes()) == 2
    proposer.wait_notice(0, f"*{AGE_UK}* has sent its view")
    # The proposer sees every answer each partner gave, what worries them included.
    answers = proposer.wait_notice(0, f"*{AGE_UK}*'s answers, as sent")
    assert "Winter &lt;pressures&gt; on our home care staff" in _texts(answers)

    # Dave still cannot act for Bob, now that Bob has answered.
    assert foreign_press(slack, fake_slack, DAVE, council_invite, "view_start").status == 200
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(DAVE)) >= 2, message="Dave told again")
    assert len(fake_slack.messages(PARTNERS)) == 1


def test_only_the_proposer_invites_and_not_me_hands_it_on(
    slack: SlackDriver, fake_slack: FakeSlack, people: None
) -> None:
    proposer = Journey(slack, fake_slack, ALICE)
    post = _posted(proposer, fake_slack)
    invite = next(
        m
        for m in fake_slack.messages(PARTNERS, thread_ts=post["ts"])
        if m["text"] == "Conditions and partners' views"
    )
    dave = Partner(slack, fake_slack, DAVE)
    assert slack.press(DAVE, invite, action_id="invite_partners").status == 200
    told = dave.wait_ephemeral()
    assert "who proposed it, can invite partners" in _texts(told) + told["text"]
    assert not fake_slack.messages(fake_slack.dm_channel(DAVE), bot_only=True)

    _invite_from_thread(proposer, fake_slack, post, {1: BOB})
    bob = Partner(slack, fake_slack, BOB)
    invitation = bob.invitation()
    assert slack.press(BOB, invitation, action_id="view_not_me").status == 200

    def instead_block() -> str | None:
        blocks = bob.current(invitation)["blocks"]
        return next(
            (b["block_id"] for b in blocks if b.get("block_id", "")[:8] == "instead:"), None
        )

    block = fake_slack.wait_for(instead_block, channel=bob.dm, message="who instead")
    asked = bob.current(invitation)
    assert slack.select_in_block(BOB, asked, block, CAROL).status == 200
    carol = Partner(slack, fake_slack, CAROL)
    assert f"*{COUNCIL}*'s view" in _texts(carol.invitation())
    proposer.wait_notice(0, f"says <@{CAROL}> should give *{COUNCIL}*'s view instead")
    # Bob's old invitation is closed; pressed on a stale copy, it starts nothing.
    assert not [e for b in bob.current(invitation)["blocks"] for e in b.get("elements", [])]
    assert replay_press(slack, BOB, invitation, action_id="view_start").status == 200
    told = bob.wait_ephemeral()
    assert f"This invitation is for <@{CAROL}>" in told["text"] + _texts(told)


def test_a_partner_who_never_answers_is_reminded_twice_then_the_proposer_is_told_once(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, people: None
) -> None:
    proposer = Journey(slack, fake_slack, ALICE)
    summary = proposer.complete(GOOD)
    carol = _carol_asked_from_summary(proposer, summary)

    scheduler = bot_server.services.scheduler
    start = datetime.now(UTC)
    for days in (1, 3, 3, 6, 9, 9, 12, 20):  # passes, some at the same moment
        scheduler.run_due(start + timedelta(days=days))
    reminders = [
        m for m in carol.bot_messages() if "A reminder" in m["text"] or "A reminder" in _texts(m)
    ]
    assert len(reminders) == 2
    told = [m for m in proposer.bot_messages() if "after two reminders" in _texts(m)]
    assert len(told) == 1
    assert f"<@{CAROL}>" in _texts(told[0]) and AGE_UK in _texts(told[0])


def test_a_partner_is_not_reminded_on_a_bank_holiday(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, people: None
) -> None:
    """Asked on Christmas Eve 2026 with REVIEW_HOLIDAYS=GB-ENG: two working days on is
    Wednesday 30 December (the 25th and the Monday for Boxing Day are bank holidays), so
    the first reminder waits for it; counted without the calendar it fell on the 28th."""
    services = bot_server.services
    services.partners.holidays = holiday_calendar("GB-ENG")
    proposer = Journey(slack, fake_slack, ALICE)
    summary = proposer.complete(GOOD)
    clock = install_clock(services, Clock(local(date(2026, 12, 24), 15)))
    carol = _carol_asked_from_summary(proposer, summary)

    def reminded_on(day: date) -> int:
        clock.set(local(day, 10))
        services.scheduler.run_due(clock())
        fake_slack.wait_idle()
        return len([m for m in carol.bot_messages() if "A reminder" in _texts(m)])

    assert reminded_on(date(2026, 12, 28)) == 0  # the Monday for Boxing Day
    assert reminded_on(date(2026, 12, 29)) == 0  # one working day on
    assert reminded_on(date(2026, 12, 30)) == 1


def test_a_view_that_stops_it_going_ahead_closes_its_reminder(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer, people: None
) -> None:
    """A partner's critical flags make a posted Proceed a Reconsider: its reviews stop,
    and the reminder already in the channel says why instead of offering buttons."""
    proposer = Journey(slack, fake_slack, ALICE)
    post = _posted(proposer, fake_slack)
    first_review = date.fromisoformat(GOOD["first_review_date"])
    passes = Passes(bot_server.services.scheduler, Clock(local(date.today(), 10)), fake_slack)
    passes.daily(first_review, first_review + timedelta(days=4), hour=9, minute=30)
    reminder = next(m for m in fake_slack.messages(PARTNERS) if m["ts"] != post["ts"])
    assert "review_start" in str(reminder["blocks"])

    _invite_from_thread(proposer, fake_slack, post, {1: BOB})
    council = Partner(slack, fake_slack, BOB)
    against = {**CONTENT, "involvement": {"frontline": "no", "users_involved": "no"}}
    council.send(council.answer_all(council.invitation(), against))

    fake_slack.wait_for(
        lambda: verdict_of(fake_slack.message(PARTNERS, post["ts"]) or post) == "Reconsider",
        channel=PARTNERS,
        message="the post's new verdict",
    )
    closed = fake_slack.wait_for(
        lambda: (
            "no longer goes ahead" in _texts(fake_slack.message(PARTNERS, reminder["ts"]) or {})
            and fake_slack.message(PARTNERS, reminder["ts"])
        ),
        channel=PARTNERS,
        message="the reminder closed",
    )
    assert "review_start" not in str(closed["blocks"])
