"""Moving around a check: back, cancel, change an answer, discard, bad answers, resume.

All through Slack: buttons pressed on the messages the bot posted, replies typed in the
DM, and a restart of the bot (a new app on the same database) in the middle of a check.
"""

from __future__ import annotations

import pytest

from bot.sandbox.fakeslack import FakeSlack
from flows import display_answer
from tests.conftest import ALICE, PARTNERS
from tests.e2e_support import (
    Journey,
    ack_blocks,
    driver_for,
    expected_flags,
    mrkdwn_texts,
    proposal,
    question_id,
    running_bot,
    shown,
    summary_flags,
    verdict_of,
)
from tests.proposer import FLOW, GOOD, is_summary, question_in
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
    # form = mou skips the governance group; no private partner skips conflicts.
    objectives = alice.settled(alice.run_to(GOOD, "objectives"))
    assert "back" in _buttons(objectives)

    seen = alice.count()
    slack.press(ALICE, objectives, action_id="back")
    costs = alice.wait_for_prompt(seen)
    assert question_id(costs) == "costs"  # not conflict_of_interest
    assert "Your earlier answer: Both" in shown(costs)
    assert "keep_answer" in _buttons(costs)
    # The message that was pressed no longer offers buttons.
    assert _buttons(alice.current(objectives)) == set()

    seen = alice.count()
    slack.dm(ALICE, "back")
    form = alice.wait_for_prompt(seen)
    assert question_id(form) == "form"  # not governance
    assert "Your earlier answer: Memorandum of understanding" in shown(form)

    # Changing the branch answer now asks the questions it opens, then goes on.
    governance = alice.answer(form, "formal")
    assert question_id(governance) == "governance"
    costs_again = alice.answer(governance, {"governance_review": "yes", "accountable_lead": "yes"})
    assert question_id(costs_again) == "costs"
    assert "Your earlier answer: Both" in shown(costs_again)
    assert fake_slack.errors == []


def test_going_back_out_of_a_branch_drops_its_answers_from_the_verdict(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Answer formal + no governance review, go back, pick mou: no governance flag remains."""
    alice = Journey(slack, fake_slack, ALICE)
    governance = {"governance_review": "no", "accountable_lead": "no"}
    answers = proposal(form="formal", governance=governance)
    objectives = alice.run_to(answers, "objectives")
    for expected in ("costs", "governance", "form"):
        seen = alice.count()
        slack.press(ALICE, alice.latest(), action_id="back")
        assert question_id(alice.wait_for_prompt(seen)) == expected
    assert question_id(objectives) == "objectives"

    costs = alice.answer(alice.latest(), "mou")
    assert question_id(costs) == "costs"
    seen = alice.count()
    slack.press(ALICE, costs, action_id="keep_answer")  # keep the earlier "Both"
    again = alice.wait_for_prompt(seen)
    assert question_id(again) == "objectives"
    summary = alice.go_on(again, GOOD)
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
    assert question_id(types) == "kinds"
    # Twelve kinds: more than Slack's 10 checkboxes, so a multi-select menu.
    (menu,) = [
        element
        for block in types["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "choices_draft"
    ]
    assert menu["type"] == "multi_static_select"
    ticked = [option["value"] for option in menu.get("initial_options", [])]
    assert ticked == GOOD["kinds"]  # shown chosen as answered before
    seen = alice.count()
    slack.press(ALICE, types, action_id="choices_done")  # Continue, nothing changed
    assert question_id(alice.wait_for_prompt(seen)) == "problem"
    answered = "\n".join(mrkdwn_texts(alice.current(types)["blocks"]))
    assert ":white_check_mark: *NHS, Social care, Voluntary or charity*" in answered
    assert fake_slack.errors == []


def test_back_to_a_group_and_continue_keeps_the_earlier_choices(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    evaluation = alice.settled(alice.run_to(GOOD, "evaluation"))
    seen = alice.count()
    slack.press(ALICE, evaluation, action_id="back")
    measuring = alice.settled(alice.wait_for_prompt(seen))
    assert question_id(measuring) == "measuring"
    # Each part shows the choice made before.
    assert _initial_options(measuring) == GOOD["measuring"]
    assert "keep_answer" not in _buttons(measuring)  # Continue keeps them instead
    seen = alice.count()
    slack.press(ALICE, measuring, action_id="parts_done")  # Continue, nothing changed
    assert question_id(alice.wait_for_prompt(seen)) == "evaluation"
    answered = "\n".join(mrkdwn_texts(alice.current(measuring)["blocks"]))
    shown_as = display_answer(FLOW.question("measuring"), GOOD["measuring"])
    assert shown_as == (
        "A measure and data source for each objective: For all of them · "
        "A baseline taken, to compare against later: Yes"
    )
    assert f":white_check_mark: *{shown_as}*" in answered
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
    assert question_id(alice.answer(first, "Discharge to assess")) == "organisations"
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
    assert _progress(fresh) == "*About the proposal*"  # not a tip: no "tip n of 5"
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
    overwritten = [m for m in messages if len(m["history"]) > 1]
    assert (live, [m["text"] for m in overwritten]) == ([], [])
    assert fake_slack.errors == []


def test_a_question_answered_before_its_post_is_recorded_is_closed_once_after_two_steps(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """The quick clicker above, made deterministic: Slack's answer to the evaluation
    question's post is held while the person answers it and the question after it."""
    alice = Journey(slack, fake_slack, ALICE)
    measuring = alice.run_to(GOOD, "measuring")
    evaluation_post = lambda args: (  # noqa: E731
        args.get("channel") == alice.dm and "plan to evaluate" in str(args.get("text", ""))
    )
    with fake_slack.held("chat.postMessage", evaluation_post) as arrived:
        seen = alice.count()
        for part, chosen in GOOD["measuring"].items():
            slack.select_in_block(ALICE, measuring, f"part:{part}", chosen)
        slack.press(ALICE, measuring, action_id="parts_done")
        fake_slack.wait_for(arrived.is_set)
        (evaluation,) = [m for m in alice.bot_messages()[seen:] if question_in(m)]
        assert question_id(evaluation) == "evaluation"
        timing = alice.answer(evaluation, GOOD["evaluation"])  # overtakes its post
        assert question_id(alice.answer(timing, GOOD["timing"])) == "commitment"
    fake_slack.wait_idle()
    evaluation = alice.current(evaluation)
    shown_as = ":white_check_mark: *Yes, and it is funded*"
    assert shown_as in "\n".join(mrkdwn_texts(evaluation["blocks"]))
    # Turned into its answer once: the original and one closing.
    assert [h["text"] for h in evaluation["history"]] == [
        "Be clear on outcomes · tip 2 of 5: Is there a plan to evaluate its impact?"
    ]
    assert fake_slack.errors == []


# --- change an answer ------------------------------------------------------------------------


def test_change_an_answer_returns_to_the_summary_with_the_new_verdict(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    summary = alice.settled(alice.complete(GOOD))
    assert verdict_of(summary) == "Proceed"

    seen = alice.count()
    slack.select(ALICE, summary, "revise", next(_revise_values(summary, "commitment")))
    question = alice.wait_for_prompt(seen)
    assert question_id(question) == "commitment"
    # A group shows its earlier answer as the radio buttons chosen.
    assert _initial_options(question) == {
        "resources": "money_and_staff",
        "senior_commitment": "all",
    }
    assert _buttons(alice.current(summary)) == set()  # the old summary is closed

    revised = alice.answer(question, {"resources": "none"})  # the other part as it was
    assert is_summary(revised)
    assert verdict_of(revised) == "Proceed with conditions"
    changed = proposal(commitment={"resources": "none", "senior_commitment": "all"})
    assert summary_flags(revised) == expected_flags(changed, "no-resources")
    assert set(summary_flags(revised)) == {"Be realistic"}

    # A change that opens a branch asks the new questions, then comes back to the summary.
    seen = alice.count()
    slack.select(ALICE, revised, "revise", next(_revise_values(revised, "form")))
    form = alice.wait_for_prompt(seen)
    governance = alice.answer(form, "formal")
    assert question_id(governance) == "governance"
    final = alice.answer(governance, {"governance_review": "no", "accountable_lead": "yes"})
    # Two critical flags, in two tips: no-resources and no-governance.
    assert verdict_of(final) == "Proceed with conditions"
    changed |= {
        "form": "formal",
        "governance": {"governance_review": "no", "accountable_lead": "yes"},
    }
    assert summary_flags(final) == expected_flags(changed, "no-governance", "no-resources")
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


def _initial_options(message: dict) -> dict[str, str]:
    """The choice shown already made in each part of a group question."""
    return {
        block["block_id"].removeprefix("part:"): element["initial_option"]["value"]
        for block in message["blocks"]
        for element in block.get("elements", [])
        if element.get("type") == "radio_buttons" and "initial_option" in element
    }


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
    "organisations": [
        ("Northshire NHS Trust", "That's 1; please give at least 2, separated by commas."),
        ("not sure", "Please name what you know so far"),
        ("Trust, " + "O" * 301, "Please keep each one to 300 characters or fewer."),
    ],
    "kinds": [("NHS, goblins", 'I didn\'t recognise "goblins"')],
    "problem": [("x" * 2001, "That's 2,001 characters; please keep it to 2,000 or fewer.")],
    "lighter_route": [
        ("maybe", 'I didn\'t recognise "maybe". Please choose one of: Yes, No, Not sure')
    ],
    "objectives": [
        ("One; two; three; four", "That makes 4; please keep to at most 3."),
        ("not sure", "Please name what you know so far"),
    ],
    "timing": [
        ("soon", "Please choose an answer for each (The first measurable result; The full"),
        ("soon; later", 'For The first measurable result, I didn\'t recognise "soon".'),
    ],
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
        # (Objectives come one message each: the question is asked again with each.)
        between = after[len(notes) : -1]
        assert after[: len(notes)] == notes and after[-1] == nxt, f"{question}: {after}"
        # Each was posted asking the same question (read as first posted: once answered
        # it shows the items taken, or "Moved on." when the next item overtook it).
        posted_as = [question_in(m["history"][0] if m["history"] else m) for m in between]
        assert posted_as == [FLOW.question(question)] * len(between), f"{question}: {between}"
        assert len(between) == (len(GOOD[question]) if question == "objectives" else 0)
        assert message_then["blocks"] == message["blocks"], f"{question} message changed"
        message = nxt
    assert checked == [q for q, replies in INVALID.items() for _ in replies]
    assert verdict_of(message) == "Proceed"
    assert fake_slack.errors == []


def test_typed_answers_to_choice_and_multi_choice_questions(
    slack: SlackDriver, fake_slack: FakeSlack, database_url: str
) -> None:
    alice = Journey(slack, fake_slack, ALICE, database_url)
    types = alice.settled(alice.run_to(GOOD, "kinds"))
    seen = alice.count()
    slack.dm(ALICE, "NHS and social care")
    problem = alice.wait_for_prompt(seen)
    assert question_id(problem) == "problem"
    assert ":white_check_mark: *NHS, Social care*" in shown(alice.current(types))
    route = alice.settled(alice.answer(problem, GOOD["problem"]))
    seen = alice.count()
    slack.dm(ALICE, "no")
    added_value = alice.settled(alice.wait_for_prompt(seen))
    assert question_id(added_value) == "added_value"
    assert ":white_check_mark: *No*" in shown(alice.current(route))
    # An optional question: typed "skip" is the Skip button.
    assert "answer_suggested" in _buttons(added_value)
    seen = alice.count()
    slack.dm(ALICE, "skip")
    form = alice.wait_for_prompt(seen)
    assert question_id(form) == "form"
    assert ":white_check_mark: *Skipped*" in shown(alice.current(added_value))
    # A group typed in one reply, its parts in order (labels, values or "in progress").
    measuring = alice.settled(alice.go_on(form, GOOD, "measuring"))
    seen = alice.count()
    slack.dm(ALICE, "For all of them; in progress")
    assert question_id(alice.wait_for_prompt(seen)) == "evaluation"
    assert (
        ":white_check_mark: *A measure and data source for each objective: For all of them · "
        "A baseline taken, to compare against later: In progress*"
    ) in shown(alice.current(measuring))
    assert fake_slack.errors == []


# --- help -------------------------------------------------------------------------------------


def test_help_during_a_check_explains_the_current_tip(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "measuring")
    assert _progress(question) == "*Be clear on outcomes* · tip 2 of 5"
    seen = alice.count()
    slack.press(ALICE, question, action_id="help")
    button_help = alice.wait_notice(seen, "*Be clear on outcomes*")
    seen = alice.count()
    slack.dm(ALICE, "help")
    typed_help = alice.wait_notice(seen, "*Be clear on outcomes*")
    assert button_help["text"] == typed_help["text"]
    assert "Partnership Outcomes Evaluation Toolkit" in typed_help["text"]
    # Help is not an answer: the same question is still the one to answer.
    assert question_id(alice.answer(question, GOOD["measuring"])) == "evaluation"
    assert fake_slack.errors == []


# --- resume, also after a restart ----------------------------------------------------------------


def test_resume_posts_the_current_question_again_and_either_copy_answers(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "measuring")
    seen = alice.count()
    slack.dm(ALICE, "resume")
    again = alice.wait_for_prompt(seen)
    assert question_id(again) == "measuring" and again["ts"] != question["ts"]
    assert question_id(alice.answer(again, GOOD["measuring"])) == "evaluation"
    assert fake_slack.errors == []


def test_a_lost_question_message_comes_back_with_resume(
    slack: SlackDriver, fake_slack: FakeSlack
) -> None:
    """Slack fails to post the next question: nothing is lost, `resume` shows it."""
    alice = Journey(slack, fake_slack, ALICE)
    question = alice.run_to(GOOD, "evaluation")
    fake_slack.fail("chat.postMessage", "internal_error")
    seen = alice.count()
    slack.press(ALICE, question, value=_value(question, "funded"))
    fake_slack.wait_for(lambda: fake_slack.calls_to("chat.postMessage")[-1].injected)
    fake_slack.wait_idle()
    assert alice.count() == seen
    slack.dm(ALICE, "resume")
    shown_again = alice.wait_for_prompt(seen)
    assert question_id(shown_again) == "timing"
    # Full benefit in 12 to 24 months: the whole-system question is skipped.
    assert question_id(alice.answer(shown_again, GOOD["timing"])) == "commitment"
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
        ("sqlite", "measuring", "resume"),
        ("sqlite", "organisations", "type"),
        pytest.param("postgres", "measuring", "press", marks=pytest.mark.postgres),
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
