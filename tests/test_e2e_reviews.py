"""Review reminders and reviews, end to end: a check posted, the clock moved, a reminder
in the channel, the review run from it, its result in the recommendation's thread."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.sandbox.fakeslack import FakeSlack
from flows import schedule
from tests.conftest import ALICE, BOB, PARTNERS
from tests.e2e_support import (
    escape,
    expected_answers,
    expected_flags,
    mrkdwn_texts,
    post_flags,
    replay_press,
    shown,
    verdict_of,
)
from tests.proposer import GOOD, Proposer, is_summary, question_in
from tests.review_support import (
    LONDON,
    REVIEW_OK,
    answer_review,
    expected_review_answers,
    expected_review_flags,
    post_check,
    review_answers,
    review_by_command,
    review_flags,
    review_results,
    submit_review,
)
from tests.slack_driver import BotServer, SlackDriver


def reminders_in(fake: FakeSlack) -> list[dict]:
    return [m for m in fake.messages(PARTNERS) if m["text"].startswith("Review due")]


def test_a_due_review_is_reminded_run_from_the_reminder_and_rescheduled(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    scheduler = bot_server.services.scheduler
    due = date.fromisoformat(GOOD["first_review_date"])
    remind_at = schedule.reminder_at(due, LONDON)

    assert scheduler.run_due(remind_at - timedelta(minutes=1)).posted == 0
    assert reminders_in(fake_slack) == []
    assert scheduler.run_due(remind_at).posted == 1
    (reminder,) = reminders_in(fake_slack)
    assert "P-1" in reminder["text"]
    assert f"Due {due.day} {due:%B %Y} · not reviewed yet" in shown(reminder)
    assert scheduler.run_due(remind_at + timedelta(hours=2)).posted == 0  # once a day at most

    bob = Proposer(slack, fake_slack, BOB)
    seen = len(bob.bot_messages())
    slack.press(BOB, reminder, action_id="review_start")
    summary = answer_review(slack, fake_slack, BOB, REVIEW_OK, seen)
    assert "Decision: Continue as it is" in summary["blocks"][0]["text"]["text"]
    slack.press(BOB, summary, action_id="review_submit")

    thread = fake_slack.wait_for(
        lambda: review_results(fake_slack, post),
        message="the review result in the recommendation's thread",
    )
    assert len(thread) == 1 and thread[0]["text"].startswith("Review of P-1")
    # The result shows every answer given, the choices as well as the typed ones.
    result = "\n".join(mrkdwn_texts(thread[0]["blocks"]))
    for question, answer in expected_review_answers(REVIEW_OK):
        assert f"*{question}*\n{answer}" in result, question
    assert "*Decision: Continue as it is*" in result and review_flags(thread[0]) == {}
    # The next review is a cadence later (quarterly in GOOD), reminded once, then.
    reviewed_on = datetime.now().date()
    next_due = schedule.next_review_on("quarterly", reviewed_on)
    assert next_due is not None
    next_at = schedule.reminder_at(next_due, LONDON)
    assert scheduler.run_due(next_at - timedelta(days=1)).posted == 0
    assert scheduler.run_due(next_at).posted == 1
    (second,) = reminders_in(fake_slack)
    assert second["ts"] != reminder["ts"]
    reviewed = f"{reviewed_on.day} {reviewed_on:%B %Y}"
    assert f"last reviewed {reviewed} (decided to continue)" in shown(second)
    first = fake_slack.message(PARTNERS, reminder["ts"])
    assert "<@U0BOB> is reviewing it now" in first["text"] or any(
        "<@U0BOB> is reviewing it now" in str(block) for block in first["blocks"]
    )
    assert fake_slack.errors == []


def test_adapting_offers_a_recheck_of_the_changed_tips_whose_verdict_goes_to_the_thread(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    alice = Proposer(slack, fake_slack, ALICE)
    adapt = {**REVIEW_OK, "decision": "adapt", "adapt_what": ["scope"]}
    summary = review_by_command(slack, fake_slack, ALICE, adapt)
    seen = len(alice.bot_messages())
    slack.press(ALICE, summary, action_id="review_submit")
    offer = fake_slack.wait_for(
        lambda: next((m for m in alice.bot_messages()[seen:] if "Re-check" in m["text"]), None),
        message="the offer to re-check",
    )
    assert "Be clear on outcomes, Be realistic" in offer["blocks"][0]["text"]["text"]

    seen = len(alice.bot_messages())
    slack.press(ALICE, offer, action_id="recheck")
    message = alice.wait_for_prompt(seen)
    asked = []
    # The partners withdraw their money and staff: a critical flag, Proceed with conditions.
    changed = {**GOOD, "commitment": {**GOOD["commitment"], "resources": "none"}}
    while not is_summary(message):
        question = question_in(message)
        assert question is not None
        asked.append(question.tip)
        message = alice.answer(message, changed[question.id])
    assert set(asked) == {"outcomes", "realistic"}
    assert message["blocks"][0]["text"]["text"] == "Re-check of P-1: Integrated discharge team"
    assert "Verdict: Proceed with conditions" in message["text"]

    slack.press(ALICE, message, action_id="post")
    # The recommendation is updated in place with the new verdict, and its thread says so
    # and lists the new answers and conditions.
    note = fake_slack.wait_for(
        lambda: next(
            (
                m
                for m in fake_slack.messages(PARTNERS, thread_ts=post["ts"])
                if "re-checked P-1" in shown(m)
            ),
            None,
        ),
        message="the re-check noted in the recommendation's thread",
    )
    assert "the verdict is now *Proceed with conditions*" in shown(note)
    updated = fake_slack.message(PARTNERS, post["ts"])
    assert updated is not None and len(updated["history"]) == 1
    assert verdict_of(updated) == "Proceed with conditions"
    assert post_flags(updated) == expected_flags(changed, "no-resources")
    assert updated["text"].startswith("P-1 Integrated discharge team: Proceed with conditions")
    assert len(fake_slack.messages(PARTNERS)) == 1  # no new top-level post, no new reference
    replies = fake_slack.wait_for(
        lambda: (
            (r := fake_slack.messages(PARTNERS, thread_ts=post["ts"])[-2:])
            and r[-1]["text"] == "Red flags and conditions"
            and r
        ),
        message="the new answers and conditions in the thread",
    )
    assert replies[0]["text"] == "Answers given in the check"
    new_answers = shown(replies[0])
    for text, answer in expected_answers(changed):
        assert f"*{escape(text)}*\n{escape(answer)}" in new_answers, text
    listing = slack.command(ALICE, "list").text
    assert "P-1" in listing and "Proceed with conditions" in listing
    assert fake_slack.errors == []


def test_a_review_of_a_partnership_ended_meanwhile_is_not_submitted(
    slack: SlackDriver, fake_slack: FakeSlack, bot_server: BotServer
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    scheduler = bot_server.services.scheduler
    due = date.fromisoformat(GOOD["first_review_date"])
    alices = review_by_command(slack, fake_slack, ALICE)
    # Bob reviews it too, and ends it.
    bobs = review_by_command(slack, fake_slack, BOB, {**REVIEW_OK, "decision": "end"})
    slack.press(BOB, bobs, action_id="review_submit")
    fake_slack.wait_for(
        lambda: any(
            "Decision: End" in str(m["blocks"])
            for m in fake_slack.messages(PARTNERS, thread_ts=post["ts"])
        ),
        message="Bob's decision to end in the thread",
    )

    slack.press(ALICE, alices, action_id="review_submit")
    fake_slack.wait_for(
        lambda: any(
            "was ended while you reviewed" in e["text"] for e in fake_slack.ephemerals(ALICE)
        ),
        message="Alice told the partnership ended",
    )
    fake_slack.wait_idle()
    assert [m["text"].startswith("Review of P-1") for m in review_results(fake_slack, post)] == [
        True
    ]
    assert scheduler.run_due(schedule.reminder_at(due, LONDON) + timedelta(days=200)).posted == 0
    assert fake_slack.errors == []


def test_a_review_submitted_twice_is_posted_once_and_the_repeat_says_so(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    summary = review_by_command(slack, fake_slack, ALICE)
    first = slack.press(ALICE, summary, action_id="review_submit")
    fake_slack.wait_for(
        lambda: (
            "Review of P-1 posted" in fake_slack.message(summary["channel"], summary["ts"])["text"]
        )
    )
    slack._interactive(first.payload)  # the same click delivered again
    fake_slack.wait_for(
        lambda: any("already submitted" in e["text"] for e in fake_slack.ephemerals(ALICE)),
        message="the repeat explained",
    )
    fake_slack.wait_idle()
    assert [m["text"].startswith("Review of P-1") for m in review_results(fake_slack, post)] == [
        True
    ]
    assert fake_slack.errors == []


def test_submit_on_a_discarded_review_posts_nothing_and_says_it_is_out_of_date(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    summary = review_by_command(slack, fake_slack, ALICE)
    slack.press(ALICE, summary, action_id="discard")
    fake_slack.wait_for(
        lambda: "Cancelled" in str(fake_slack.message(summary["channel"], summary["ts"]))
    )
    replay_press(slack, ALICE, summary, action_id="review_submit")  # a client not yet updated
    note = fake_slack.wait_for(lambda: fake_slack.ephemerals(ALICE)[0])
    assert "already taken" in note["text"]
    fake_slack.wait_idle()
    assert review_results(fake_slack, post) == []
    assert fake_slack.errors == []


def test_a_review_answered_not_sure_says_what_to_find_out_and_shows_every_answer(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    post = post_check(slack, fake_slack, ALICE, GOOD)
    # Every question that can raise a flag offers Not sure (the reviewer presses it).
    answers = review_answers(
        value_for_cost="not_sure",
        separate_better="not_sure",
        outcomes_progress="not_sure",
        milestones_met="not_sure",
        context_changes=["funding", "leadership"],
        context_notes="The council's grant ends in March & there is a new chief executive.",
        frontline_still="not_sure",
        users_still="not_sure",
    )
    summary = review_by_command(slack, fake_slack, ALICE, answers)
    expected = expected_review_flags(
        answers,
        "cost-outweighs-benefit",
        "separate-better",
        "no-progress",
        "milestones-missed",
        "context-changed",
        "frontline-dropped",
        "users-dropped",
    )
    assert review_flags(summary) == expected
    # A Not sure is never critical: each says what is not known yet.
    assert all(severity == "warning" for flags in expected.values() for severity, _ in flags)
    separate = "Not known yet: whether working together still beats working separately."
    assert ("warning", separate) in review_flags(summary)["Value for cost"]

    submit_review(slack, fake_slack, ALICE, summary, post)
    (result,) = review_results(fake_slack, post)
    assert review_flags(result) == expected
    text = "\n".join(mrkdwn_texts(result["blocks"]))
    for question, answer in expected_review_answers(answers):
        assert f"*{question}*\n{answer}" in text, question
    assert fake_slack.errors == []
