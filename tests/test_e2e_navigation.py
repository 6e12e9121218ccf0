"""Moving around a check: back, cancel, change an answer, discard, bad answers, resume.

All through Slack: buttons pressed on the messages the bot posted, replies typed in the
DM, and a restart of the bot (a new app on the same database) in the middle of a check.
"""

from __future__ import annotations

import pytest

from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import (
    Journey,
    ack_blocks,
    driver_for,
    mrkdwn_texts,
    proposal,
    question_id,
    running_bot,
    shown,
    summary_flags,
    verdict_of,
)
from tests.fakeslack import FakeSlack
from tests.proposer import GOOD, is_summary
from tests.slack_driver import SlackDriver


def _buttons(message: dict) -> set[str]:
    return {
        element.get("action_id", "")
        for block in message["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
    }


def _progress(message: dict) -> str:
    return mrkdwn_texts(message["blocks"])[0]


# --- back --------------------------------------------------------------------------------


def test_back_button_and_typed_back_skip_questions_branching_skipped(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    # form = mou skips the governance questions; no private partner skips conflicts.
    at_count = alice.settled(alice.run_to(GOOD, "partner_count"))
    assert "back" in _buttons(at_count)

    seen = alice.count()
    slack.press(ALICE, at_count, action_id="back")
    costs = alice.wait_for_prompt(seen)
    assert question_id(costs) == "costs_estimated"  # not accountable_lead / conflicts
    assert "Your earlier answer: Yes" in shown(costs)
    assert "keep_answer" in _buttons(costs)
    # The message that was pressed no longer offers buttons.
    assert _buttons(alice.current(at_count)) == set()

    seen = alice.count()
    slack.dm(ALICE, "back")
    form = alice.wait_for_prompt(seen)
    assert question_id(form) == "form"
    assert "Your earlier answer: Memorandum of understanding" in shown(form)

    # Changing the branch answer now asks the questions it opens.
    costs_again = alice.answer(form, "formal")
    assert question_id(costs_again) == "costs_estimated"
    governance = alice.answer(costs_again, "yes")
    assert question_id(governance) == "governance_review"
    assert fake_slack.errors == []


def test_going_back_out_of_a_branch_drops_its_answers_from_the_verdict(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Answer formal + no governance review, go back, pick mou: no governance flag remains."""
    alice = Journey(slack, fake_slack, ALICE)
    answers = proposal(form="formal", governance_review="no", accountable_lead="no")
    at_count = alice.run_to(answers, "partner_count")
    for expected in ("accountable_lead", "governance_review", "costs_estimated", "form"):
        seen = alice.count()
        slack.press(ALICE, alice.latest(), action_id="back")
        assert question_id(alice.wait_for_prompt(seen)) == expected
    assert question_id(at_count) == "partner_count"

    costs = alice.answer(alice.latest(), "mou")
    assert question_id(costs) == "costs_estimated"
    seen = alice.count()
    slack.press(ALICE, costs, action_id="keep_answer")  # keep the earlier "Yes"
    count = alice.wait_for_prompt(seen)
    assert question_id(count) == "partner_count"
    summary = alice.go_on(count, GOOD)
    assert verdict_of(summary) == "Proceed"
    assert summary_flags(summary) == {}
    assert fake_slack.errors == []


def test_back_to_ticked_boxes_and_continue_keeps_the_earlier_ticks(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    problem = alice.settled(alice.run_to(GOOD, "problem"))
    seen = alice.count()
    slack.press(ALICE, problem, action_id="back")
    types = alice.settled(alice.wait_for_prompt(seen))
    assert question_id(types) == "partner_types"
    ticked = [
        option["value"]
        for block in types["blocks"]
        for element in block.get("elements", [])
        if element.get("type") == "checkboxes"
        for option in element.get("initial_options", [])
    ]
    assert ticked == GOOD["partner_types"]  # shown ticked as answered before
    seen = alice.count()
    slack.press(ALICE, types, action_id="choices_done")  # Continue, nothing changed
    assert question_id(alice.wait_for_prompt(seen)) == "problem"
    answered = "\n".join(mrkdwn_texts(alice.current(types)["blocks"]))
    assert ":white_check_mark: *NHS, Social care, Voluntary or charity*" in answered
    assert fake_slack.errors == []


def test_typed_back_at_the_first_question_changes_nothing(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    first = alice.start()
    assert question_id(first) == "name" and "back" not in _buttons(first)
    seen = alice.count()
    slack.dm(ALICE, "back")
    note = alice.wait_notice(seen, "nothing to go back to")
    fake_slack.wait_idle()
    assert alice.new_messages(seen) == [note]
    assert alice.current(first)["blocks"] == first["blocks"]
    assert question_id(alice.answer(first, "Discharge to assess")) == "lead_org"
    assert fake_slack.errors == []


# --- cancel and discard --------------------------------------------------------------------


@pytest.mark.parametrize("how", ["button", "typed", "command"])
def test_cancel_a_check_in_progress(
    how: str, slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    question = alice.settled(alice.run_to(GOOD, "problem"))
    seen = alice.count()
    if how == "button":
        response = slack.press(ALICE, question, action_id="cancel")
    elif how == "typed":
        response = slack.dm(ALICE, "cancel")
    else:
        response = slack.command(ALICE, "cancel")
        assert "Cancelling" in ack_blocks(response)["text"]
    assert response.status == 200
    alice.wait_notice(seen, "Check cancelled")
    assert _buttons(alice.current(question)) == set()
    assert "Cancelled" in shown(alice.current(question))

    # Nothing is left in progress: resume says so, and `new` starts from the beginning.
    seen = alice.count()
    slack.dm(ALICE, "resume")
    alice.wait_notice(seen, "no check in progress")
    again = slack.command(ALICE, "cancel")
    assert "no check in progress" in ack_blocks(again)["text"]
    fresh = alice.start()
    assert question_id(fresh) == "name"
    assert "question 1 of" in _progress(fresh)
    assert "Your earlier answer" not in shown(fresh)
    assert fake_slack.messages(PARTNERS) == []
    assert fake_slack.errors == []


def test_discard_from_the_summary_posts_nothing(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(GOOD))
    # Typing at the summary is not an answer: it points to the summary's buttons.
    seen = alice.count()
    slack.dm(ALICE, "post it please")
    alice.wait_notice(seen, "use its buttons")
    assert alice.current(summary)["blocks"] == summary["blocks"]
    seen = alice.count()
    slack.press(ALICE, summary, action_id="discard")
    alice.wait_notice(seen, "Check cancelled")
    assert _buttons(alice.current(summary)) == set()
    listing = ack_blocks(slack.command(ALICE, "list"))
    assert "cancelled" in "\n".join(mrkdwn_texts(listing["blocks"]))
    fake_slack.wait_idle()
    assert fake_slack.messages(PARTNERS) == []
    assert fake_slack.errors == []


def test_every_answered_question_message_shows_its_own_answer(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Answering as soon as each question appears (a quick clicker, or a slow Slack API
    response to the bot) must still leave a clean transcript: each question message
    turns into its own answer, once, and only the summary keeps buttons. (The window is
    timing-dependent here; test_e2e_races holds it open deterministically.)"""
    alice = Journey(slack, fake_slack, ALICE)
    alice.complete(GOOD)
    fake_slack.wait_idle()
    messages = alice.new_messages(0)
    live = [question_id(m) for m in messages if question_id(m)]
    overwritten = [m["text"] for m in messages if len(m["history"]) > 1]
    assert (live, overwritten) == ([], [])
    assert fake_slack.errors == []


# --- change an answer ------------------------------------------------------------------------


def test_change_an_answer_returns_to_the_summary_with_the_new_verdict(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(GOOD))
    assert verdict_of(summary) == "Proceed"

    seen = alice.count()
    slack.select(ALICE, summary, "revise", next(_revise_values(summary, "resources")))
    question = alice.wait_for_prompt(seen)
    assert question_id(question) == "resources"
    assert "Your earlier answer: Money and staff time" in shown(question)
    assert _buttons(alice.current(summary)) == set()  # the old summary is closed

    revised = alice.answer(question, "none")
    assert is_summary(revised)
    assert verdict_of(revised) == "Proceed with conditions"
    assert set(summary_flags(revised)) == {"Be realistic"}

    # A change that opens a branch asks the new questions, then comes back to the summary.
    seen = alice.count()
    slack.select(ALICE, revised, "revise", next(_revise_values(revised, "form")))
    form = alice.wait_for_prompt(seen)
    governance = alice.answer(form, "formal")
    assert question_id(governance) == "governance_review"
    lead = alice.answer(governance, "no")
    assert question_id(lead) == "accountable_lead"
    final = alice.answer(lead, "yes")
    # Two critical flags, in two tips: no-resources and no-governance.
    assert verdict_of(final) == "Proceed with conditions"
    assert set(summary_flags(final)) == {"Be selective", "Be realistic"}

    # Starting a change and going Back out of it keeps the answer and the verdict.
    seen = alice.count()
    slack.select(ALICE, final, "revise", next(_revise_values(final, "coordinator")))
    coordinator = alice.wait_for_prompt(seen)
    assert question_id(coordinator) == "coordinator"
    seen = alice.count()
    slack.press(ALICE, coordinator, action_id="back")
    final = alice.wait_for_prompt(seen)
    assert is_summary(final)
    assert verdict_of(final) == "Proceed with conditions"
    assert set(summary_flags(final)) == {"Be selective", "Be realistic"}

    post = alice.post(final)
    assert verdict_of(post) == "Proceed with conditions"
    assert fake_slack.errors == []


def _revise_values(summary: dict, question: str):
    for block in summary["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "revise":
                for option in element["options"]:
                    if option["value"].endswith(f".{question}"):
                        yield option["value"]


# --- invalid answers ----------------------------------------------------------------------------

# question -> typed replies it must refuse, each with its specific re-prompt (in check order)
INVALID = {
    "name": [
        ("   ", "it can't be empty"),
        ("\n\t", "it can't be empty"),
        ("N" * 151, "That's 151 characters; please keep it to 150 or fewer."),
    ],
    "partner_types": [("NHS, goblins", 'I didn\'t recognise "goblins"')],
    "problem": [("x" * 2001, "That's 2,001 characters; please keep it to 2,000 or fewer.")],
    "lighter_route": [("maybe", 'I didn\'t recognise "maybe". Please choose one of: Yes, No')],
    "partner_count": [
        ("several", "Please type a number, like 12."),
        ("2.5", "Please type a whole number"),
        ("1", "Please type a number from 2 to 500."),
    ],
    "first_result_months": [("soon", "Please type a number, like 12.")],
    "first_review_date": [
        ("31/02/2027", "There is no 31 February 2027. Please check the day and month."),
        ("next Tuesday", "Please type a date like 1 March 2027"),
        ("01/01/2020", "1 January 2020 is in the past."),
    ],
}


def test_invalid_answers_are_reprompted_and_the_check_stays_put(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    message = alice.start()
    checked = []
    while not is_summary(message):
        question = question_id(message)
        assert question is not None
        seen = alice.count()
        for typed, reprompt in INVALID.get(question, []):
            before = alice.count()
            slack.dm(ALICE, typed)
            note = alice.wait_notice(before, reprompt)
            assert note["text"].startswith(":warning:"), note["text"]
            checked.append(question)
        notes = alice.new_messages(seen)
        message_then = alice.current(message)
        # Still the same question: a good answer is taken by it, and the next one follows.
        nxt = alice.answer(message, GOOD[question])
        after = alice.new_messages(seen)
        assert after == [*notes, nxt], f"{question}: something else was posted"
        assert message_then["blocks"] == message["blocks"], f"{question} message changed"
        message = nxt
    assert checked == [q for q, replies in INVALID.items() for _ in replies]
    assert verdict_of(message) == "Proceed"
    assert fake_slack.errors == []


def test_typed_answers_to_choice_and_multi_choice_questions(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    types = alice.settled(alice.run_to(GOOD, "partner_types"))
    seen = alice.count()
    slack.dm(ALICE, "NHS and social care")
    problem = alice.wait_for_prompt(seen)
    assert question_id(problem) == "problem"
    assert ":white_check_mark: *NHS, Social care*" in shown(alice.current(types))
    route = alice.settled(alice.answer(problem, GOOD["problem"]))
    seen = alice.count()
    slack.dm(ALICE, "no")
    assert question_id(alice.wait_for_prompt(seen)) == "form"
    assert ":white_check_mark: *No*" in shown(alice.current(route))
    assert fake_slack.errors == []


# --- help -------------------------------------------------------------------------------------


def test_help_during_a_check_explains_the_current_tip(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "baseline")
    seen = alice.count()
    slack.press(ALICE, question, action_id="help")
    button_help = alice.wait_notice(seen, "*Be clear on outcomes*")
    seen = alice.count()
    slack.dm(ALICE, "help")
    typed_help = alice.wait_notice(seen, "*Be clear on outcomes*")
    assert button_help["text"] == typed_help["text"]
    assert "Partnership Outcomes Evaluation Toolkit" in typed_help["text"]
    # Help is not an answer: the same question is still the one to answer.
    assert question_id(alice.answer(question, "yes")) == "evaluation"
    assert fake_slack.errors == []


# --- resume, also after a restart ----------------------------------------------------------------


def test_resume_posts_the_current_question_again_and_either_copy_answers(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "baseline")
    seen = alice.count()
    slack.dm(ALICE, "resume")
    again = alice.wait_for_prompt(seen)
    assert question_id(again) == "baseline" and again["ts"] != question["ts"]
    assert question_id(alice.answer(again, "yes")) == "evaluation"
    assert fake_slack.errors == []


def test_a_lost_question_message_comes_back_with_resume(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Slack fails to post the next question: nothing is lost, `resume` shows it."""
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "baseline")
    fake_slack.fail("chat.postMessage", "internal_error")
    seen = alice.count()
    slack.press(ALICE, question, value=_value(question, "yes"))
    fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage")[-1].injected)
    fake_slack.wait_idle()
    assert alice.count() == seen
    slack.dm(ALICE, "resume")
    shown_again = alice.wait_for_prompt(seen)
    assert question_id(shown_again) == "evaluation"
    assert question_id(alice.answer(shown_again, "funded")) == "first_result_months"
    assert fake_slack.errors == []


def _value(message: dict, option: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("value", "").endswith(f".{option}") and element["type"] == "button":
                return element["value"]
    raise AssertionError(option)


@pytest.mark.parametrize(
    ("database", "stop_at", "how"),
    [
        ("sqlite", "baseline", "resume"),
        ("sqlite", "partner_count", "type"),
        pytest.param("postgres", "baseline", "press", marks=pytest.mark.postgres),
    ],
)
def test_a_check_carries_on_after_the_bot_restarts(
    database: str,
    stop_at: str,
    how: str,
    fake_slack: FakeSlack,
    database_url: str,
) -> None:
    with running_bot(fake_slack, database_url) as first:
        alice = Journey(driver_for(first, fake_slack), fake_slack, ALICE)
        question = alice.run_to(GOOD, stop_at)
        fake_slack.wait_idle()
    # The first bot is gone; a new app starts on the same database.
    with running_bot(fake_slack, database_url) as second:
        slack = driver_for(second, fake_slack)
        alice = Journey(slack, fake_slack, ALICE)
        seen = alice.count()
        if how == "resume":
            slack.dm(ALICE, "resume")
            again = alice.wait_for_prompt(seen)
            assert question_id(again) == stop_at
            nxt = alice.answer(again, GOOD[stop_at])
        else:  # press the button shown before the restart, or type the answer
            nxt = alice.answer(question, GOOD[stop_at])
        assert question_id(nxt) not in (None, stop_at)
        summary = alice.go_on(nxt, GOOD)
        assert verdict_of(summary) == "Proceed"
        post = alice.post(summary)
        assert post["text"].startswith("P-1 ")
    assert len(fake_slack.messages(PARTNERS)) == 1
    assert fake_slack.errors == []
