"""Parsing answers per question type, the re-prompts for bad ones, and showing them back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from flows import AnswerError, Flow, display_answer
from flows.answers import parse_answer

TODAY = dt.date(2027, 1, 4)


def parse(flow: Flow, question_id: str, raw: object) -> object:
    """The stored value of a single-answer question (a group's {part: value})."""
    question = flow.question(question_id)
    values = parse_answer(question, raw, today=TODAY)  # type: ignore[arg-type]
    return values if question.parts else values[question_id]


def rejects(flow: Flow, question_id: str, raw: object) -> str:
    with pytest.raises(AnswerError) as raised:
        parse(flow, question_id, raw)
    assert raised.value.message == str(raised.value)
    return raised.value.message


class TestChoice:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("formal", "formal"),
            ("MOU", "mou"),
            ("Memorandum of understanding", "mou"),
            ("  informal short-term PROJECT ", "informal"),
            (["formal"], "formal"),
        ],
    )
    def test_value_or_label_any_case(self, flow: Flow, raw: object, expected: str) -> None:
        assert parse(flow, "form", raw) == expected

    @pytest.mark.parametrize(("raw", "expected"), [("y", "yes"), ("N", "no"), ("Yes", "yes")])
    def test_yes_no_shorthand(self, flow: Flow, raw: str, expected: str) -> None:
        assert parse(flow, "user_outcomes", raw) == expected

    def test_shorthand_only_where_there_is_a_yes(self, flow: Flow) -> None:
        assert 'I didn\'t recognise "y"' in rejects(flow, "form", "y")
        assert 'I didn\'t recognise "n"' in rejects(flow, "coordinator", "n")

    def test_underscored_values_read_as_words(self, flow: Flow) -> None:
        assert parse(flow, "costs", "time only") == "time_only"
        assert parse(flow, "costs", "time-only") == "time_only"
        assert parse(flow, "evaluation", "in_progress") == "in_progress"

    def test_unknown_choice_lists_the_options(self, flow: Flow) -> None:
        assert rejects(flow, "lighter_route", "maybe") == (
            'I didn\'t recognise "maybe". Please choose one of: Yes, No, Not sure.'
        )

    def test_a_long_reply_is_quoted_short(self, flow: Flow) -> None:
        message = rejects(flow, "lighter_route", "word " * 40)
        assert message.startswith("I didn't recognise \"word word")
        assert "…" in message and len(message) < 150

    def test_empty(self, flow: Flow) -> None:
        assert rejects(flow, "lighter_route", "  ") == "Please choose one of: Yes, No, Not sure."

    def test_more_than_one(self, flow: Flow) -> None:
        assert rejects(flow, "form", ["formal", "mou"]) == "Please give just one answer."


class TestHonestUnknowns:
    """Not sure and In progress, clicked or typed as a person would say them."""

    @pytest.mark.parametrize(
        "raw",
        [
            "not_sure",
            "Not sure",
            "not sure.",
            "NOT SURE!",
            "unsure",
            "don't know",
            "Don\u2019t know",  # a phone's curly apostrophe
            "dont know",
            "do not know",
            "no idea",
            "idk",
            "?",
            "???",
            "not sure yet",
            "unknown",
        ],
    )
    def test_ways_of_saying_not_sure(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "lighter_route", raw) == "not_sure"
        assert parse(flow, "coordinator", raw) == "not_sure"

    @pytest.mark.parametrize(
        "raw", ["in_progress", "In progress", "under way", "underway", "being done", "ongoing"]
    )
    def test_ways_of_saying_in_progress(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "exit_arrangements", raw) == "in_progress"
        assert parse(flow, "evaluation", raw) == "in_progress"

    def test_in_progress_only_where_it_is_offered(self, flow: Flow) -> None:
        assert rejects(flow, "user_outcomes", "in progress") == (
            'I didn\'t recognise "in progress". Please choose one of: Yes, No, Not sure.'
        )

    def test_not_sure_only_where_it_is_offered(self, flow: Flow) -> None:
        assert rejects(flow, "form", "not sure").startswith('I didn\'t recognise "not sure".')

    def test_not_sure_means_not_decided_where_that_is_the_unknown(self, flow: Flow) -> None:
        cadence = flow.question("reviews").parts[0]
        assert [o.value for o in cadence.options][-1] == "not_decided"
        how_often = replace(flow.question("costs"), options=cadence.options)
        assert parse_answer(how_often, "not sure", today=TODAY) == {"costs": "not_decided"}
        assert parse_answer(how_often, "don't know", today=TODAY) == {"costs": "not_decided"}
        assert parse(flow, "reviews", "not sure") == {
            "review_cadence": "not_decided",
            "value_decider": "not_decided",
        }

    def test_a_label_wins_over_a_way_of_saying(self, flow: Flow) -> None:
        # "none" is a label word of some options, not a way of saying not sure.
        assert parse(flow, "evaluation", "No plan yet") == "none"
        assert parse(flow, "costs", "neither") == "neither"


class TestMultiChoice:
    def test_values_from_checkboxes_in_option_order(self, flow: Flow) -> None:
        assert parse(flow, "kinds", ["private", "nhs", "nhs"]) == ["nhs", "private"]

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("NHS, social care", ["nhs", "social_care"]),
            ("nhs; Other private company\nhousing", ["nhs", "housing", "private"]),
            ("NHS and police & housing", ["nhs", "police", "housing"]),
            ("patient or community group", ["community"]),
            ("Fire and rescue", ["fire"]),  # "and" inside a label is not a separator
        ],
    )
    def test_typed_labels_or_values(self, flow: Flow, raw: str, expected: list[str]) -> None:
        assert parse(flow, "kinds", raw) == expected

    def test_at_least_one(self, flow: Flow) -> None:
        message = rejects(flow, "kinds", " , ")
        assert message.startswith("Please choose at least one: NHS, GP practice or primary care,")
        assert rejects(flow, "kinds", []) == message

    def test_unknown_part_is_named(self, flow: Flow) -> None:
        message = rejects(flow, "kinds", "NHS, fire service")
        assert message.startswith('I didn\'t recognise "fire service". Please choose from: NHS,')
        assert message.endswith("(separate them with commas).")

    def test_unknown_value_from_a_list(self, flow: Flow) -> None:
        assert 'recognise "army"' in rejects(flow, "kinds", ["nhs", "army"])


class TestNumber:
    """The packaged check has no number question any more; a custom one still works."""

    @pytest.fixture
    def months(self, flow: Flow) -> object:
        return replace(
            flow.question("name"), id="months", type="number", min=1, max=120, unit="months"
        )

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("12", 12), (" 8 ", 8), ("+4", 4), (7, 7), ("18 months", 18), ("1 month", 1)],
    )
    def test_whole_numbers(self, months: object, raw: object, expected: int) -> None:
        assert parse_answer(months, raw, today=TODAY) == {"months": expected}  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("twelve", "Please type a number, like 12."),
            ("2.5", "Please type a whole number, like 12."),
            ("0", "Please type a number from 1 to 120."),
            ("121", "Please type a number from 1 to 120."),
            (True, "Please type a number, like 12."),
            ("9" * 40, "Please type a number, like 12."),
        ],
    )
    def test_refused(self, months: object, raw: object, message: str) -> None:
        with pytest.raises(AnswerError, match=message.replace(".", r"\.")):
            parse_answer(months, raw, today=TODAY)  # type: ignore[arg-type]

    def test_display_with_unit(self, months: object) -> None:
        assert display_answer(months, 18) == "18 months"  # type: ignore[arg-type]
        assert display_answer(months, 1) == "1 month"  # type: ignore[arg-type]


class TestDate:
    @pytest.mark.parametrize(
        "raw",
        [
            "2027-03-01",
            "1 March 2027",
            "1 Mar 2027",
            "1st march 2027",
            "01/03/2027",
            "1/3/2027",
            "01.03.2027",
            "01/03/27",
            " 1  MARCH   2027 ",
        ],
    )
    def test_formats_day_first(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "first_review_date", raw) == "2027-03-01"

    def test_impossible_date(self, flow: Flow) -> None:
        assert rejects(flow, "first_review_date", "31/02/2027") == (
            "There is no 31 February 2027. Please check the day and month."
        )

    def test_month_out_of_range(self, flow: Flow) -> None:
        assert rejects(flow, "first_review_date", "03/13/2027") == (
            "There is no month 13. Dates go day/month/year, like 01/03/2027."
        )

    def test_unknown_month_name(self, flow: Flow) -> None:
        assert rejects(flow, "first_review_date", "1 Marhc 2027").startswith(
            'I don\'t know the month "marhc".'
        )

    @pytest.mark.parametrize("raw", ["next week", "March 2027", "", "2027/03/01", "not sure"])
    def test_unreadable(self, flow: Flow, raw: str) -> None:
        assert rejects(flow, "first_review_date", raw) == (
            "Please type a date like 1 March 2027 or 01/03/2027."
        )

    def test_today_is_allowed_the_past_is_not(self, flow: Flow) -> None:
        assert parse(flow, "first_review_date", "4 January 2027") == "2027-01-04"
        assert rejects(flow, "first_review_date", "3 January 2027") == (
            "3 January 2027 is in the past. Please give a date from today (4 January 2027) onwards."
        )

    def test_within_two_years(self, flow: Flow) -> None:
        # 730 days ahead; 2028 is a leap year.
        assert parse(flow, "first_review_date", "3 January 2029") == "2029-01-03"
        assert rejects(flow, "first_review_date", "4 January 2029") == (
            "4 January 2029 is too far ahead. Please give a date no later than 3 January 2029."
        )


class TestText:
    def test_stripped(self, flow: Flow) -> None:
        assert parse(flow, "name", "  Discharge team \n") == "Discharge team"

    def test_short_text_is_one_line(self, flow: Flow) -> None:
        assert parse(flow, "name", "Discharge\n  team") == "Discharge team"

    def test_long_text_keeps_lines(self, flow: Flow) -> None:
        assert parse(flow, "problem", "One\nTwo\n") == "One\nTwo"

    @pytest.mark.parametrize("raw", ["", "   ", "\n\t"])
    def test_empty(self, flow: Flow, raw: str) -> None:
        assert rejects(flow, "name", raw) == "Please type an answer; it can't be empty."

    def test_short_text_limit(self, flow: Flow) -> None:
        assert parse(flow, "name", "x" * 150) == "x" * 150
        assert rejects(flow, "name", "x" * 151) == (
            "That's 151 characters; please keep it to 150 or fewer."
        )

    def test_long_text_limit(self, flow: Flow) -> None:
        assert rejects(flow, "problem", "x" * 2345) == (
            "That's 2,345 characters; please keep it to 2,000 or fewer."
        )

    def test_list_is_not_text(self, flow: Flow) -> None:
        assert rejects(flow, "problem", ["a"]) == "Please type your answer as text."

    def test_invisible_characters_are_taken_out(self, flow: Flow) -> None:
        assert parse(flow, "name", "Discharge\x00 te\u200bam\u202e") == "Discharge team"
        assert parse(flow, "problem", "One\tline\nTwo\x07") == "One\tline\nTwo"

    @pytest.mark.parametrize("raw", ["\u200b", "\x00\x1b", "\ufeff \u2066"])
    def test_only_invisible_characters_is_empty(self, flow: Flow, raw: str) -> None:
        assert rejects(flow, "name", raw) == "Please type an answer; it can't be empty."


class TestOptional:
    @pytest.mark.parametrize("raw", ["skip", "Skip", " SKIP ", "pass", "skip it", "none"])
    def test_skip_stores_nothing(self, flow: Flow, raw: str) -> None:
        assert flow.question("added_value").optional
        assert parse(flow, "added_value", raw) is None

    def test_a_dash_skips(self, flow: Flow) -> None:
        assert parse(flow, "added_value", "-") is None

    def test_an_answer_is_kept(self, flow: Flow) -> None:
        assert parse(flow, "added_value", "Skipping a handover") == "Skipping a handover"

    def test_empty_is_still_refused(self, flow: Flow) -> None:
        assert rejects(flow, "added_value", "  ") == "Please type an answer; it can't be empty."

    def test_only_optional_questions_can_be_skipped(self, flow: Flow) -> None:
        assert not flow.question("problem").optional
        assert parse(flow, "problem", "skip") == "skip"

    def test_shown_as_skipped(self, flow: Flow) -> None:
        assert display_answer(flow.question("added_value"), None) == "Skipped"
        assert display_answer(flow.question("problem"), None) == "Not answered"


class TestList:
    def test_organisations_split_on_commas_lead_first(self, flow: Flow) -> None:
        assert parse(flow, "organisations", "Northshire NHS Trust, Northshire Council,Age UK") == [
            "Northshire NHS Trust",
            "Northshire Council",
            "Age UK",
        ]

    @pytest.mark.parametrize(
        "raw",
        [
            "Cut delays\nFewer readmissions\nShorter waits",
            "Cut delays; Fewer readmissions; Shorter waits",
            "- Cut delays\n- Fewer readmissions\n- Shorter waits",
            "• Cut delays\n• Fewer readmissions\n• Shorter waits",
            "* Cut delays\n* Fewer readmissions\n* Shorter waits",
            "1. Cut delays\n2. Fewer readmissions\n3. Shorter waits",
            "1) Cut delays\n2) Fewer readmissions\n(3) Shorter waits",
            "Cut delays;\n\nFewer   readmissions ;  Shorter waits\n",
        ],
    )
    def test_objectives_on_lines_semicolons_or_bullets(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "objectives", raw) == [
            "Cut delays",
            "Fewer readmissions",
            "Shorter waits",
        ]

    def test_objectives_keep_their_commas(self, flow: Flow) -> None:
        assert parse(flow, "objectives", "Cut delays, falls and readmissions") == [
            "Cut delays, falls and readmissions"
        ]

    def test_items_from_a_list(self, flow: Flow) -> None:
        assert parse(flow, "organisations", [" Trust ", "Council", ""]) == ["Trust", "Council"]

    def test_too_few(self, flow: Flow) -> None:
        assert rejects(flow, "organisations", "Northshire NHS Trust") == (
            "That's 1; please give at least 2, separated by commas."
        )

    def test_too_many(self, flow: Flow) -> None:
        assert rejects(flow, "objectives", "a\nb\nc\nd") == "That's 4; please keep to at most 3."

    def test_none_at_all(self, flow: Flow) -> None:
        message = rejects(flow, "objectives", " ;\n - ")
        assert message.startswith("Please type at least one. e.g. Cut delayed discharges")

    @pytest.mark.parametrize("raw", ["not sure", "Cut delays; don't know", "?"])
    def test_not_sure_is_not_an_item(self, flow: Flow, raw: str) -> None:
        assert rejects(flow, "objectives", raw).startswith(
            "Please name what you know so far; you can change it before posting."
        )

    def test_each_item_has_a_limit(self, flow: Flow) -> None:
        assert parse(flow, "objectives", "x" * 300) == ["x" * 300]
        assert rejects(flow, "objectives", "ok\n" + "x" * 301) == (
            "Please keep each one to 300 characters or fewer."
        )

    @pytest.mark.parametrize("raw", ["7-day discharge at weekends", "24-hour response"])
    def test_a_number_in_a_hyphenated_word_is_not_a_bullet(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "objectives", raw) == [raw]


class TestGroup:
    def test_clicked_parts(self, flow: Flow) -> None:
        clicked = {"first_result": "months_6_to_12", "full_benefit": "over_24_months"}
        assert parse(flow, "timing", clicked) == clicked

    def test_labels_or_values_any_case(self, flow: Flow) -> None:
        clicked = {"first_result": "6 TO 12 MONTHS", "full_benefit": "more than 24 months"}
        assert parse(flow, "timing", clicked) == {
            "first_result": "months_6_to_12",
            "full_benefit": "over_24_months",
        }

    @pytest.mark.parametrize(
        "raw",
        [
            "6 to 12 months; more than 24 months",
            "6 to 12 months\nMore than 24 months",
            " 6 to 12 months ;; over_24_months ",
        ],
    )
    def test_typed_in_part_order(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "timing", raw) == {
            "first_result": "months_6_to_12",
            "full_benefit": "over_24_months",
        }

    def test_typed_with_the_wrong_number_of_parts(self, flow: Flow) -> None:
        assert rejects(flow, "timing", "6 to 12 months") == (
            "Please choose an answer for each (The first measurable result; The full benefit), "
            "then press *Continue*. Or type them in that order, separated by semicolons."
        )

    def test_a_missing_part_is_asked_for(self, flow: Flow) -> None:
        assert rejects(flow, "timing", {"first_result": "months_6_to_12"}) == (
            "Please choose an answer for *The full benefit* too."
        )
        assert rejects(flow, "timing", {"first_result": "within_6_months", "full_benefit": ""}) == (
            "Please choose an answer for *The full benefit* too."
        )

    def test_an_unknown_part_value_is_named(self, flow: Flow) -> None:
        assert rejects(flow, "timing", "6 to 12 months; soon") == (
            'For The full benefit, I didn\'t recognise "soon". Please choose one of: '
            "Within 6 months, 6 to 12 months, 12 to 24 months, More than 24 months, Not sure."
        )

    def test_only_its_parts_are_stored(self, flow: Flow) -> None:
        clicked = {"measures": "all", "baseline": "no", "name": "Sneaky"}
        assert parse(flow, "measuring", clicked) == {"measures": "all", "baseline": "no"}

    def test_an_optional_part_may_be_left_out(self, flow: Flow) -> None:
        assert parse(flow, "involvement", {"frontline": "already", "users_involved": "no"}) == {
            "frontline": "already",
            "users_involved": "no",
        }

    @pytest.mark.parametrize("raw", ["not sure", "Not sure", "don't know", "?", "idk"])
    def test_one_not_sure_for_every_part(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "timing", raw) == {
            "first_result": "not_sure",
            "full_benefit": "not_sure",
        }
        # The optional part has no Not sure, so it is left out.
        assert parse(flow, "involvement", raw) == {
            "frontline": "not_sure",
            "users_involved": "not_sure",
        }

    def test_not_sure_per_part(self, flow: Flow) -> None:
        assert parse(flow, "measuring", "Not sure; in progress") == {
            "measures": "not_sure",
            "baseline": "in_progress",
        }

    @pytest.mark.parametrize("raw", ["Not sure.", "Don\u2019t know"])
    def test_not_sure_to_a_group_said_as_to_a_choice(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "lighter_route", raw) == "not_sure"  # accepted for a choice
        assert parse(flow, "timing", raw) == {
            "first_result": "not_sure",
            "full_benefit": "not_sure",
        }

    def test_a_typed_answer_may_leave_out_an_optional_part(self, flow: Flow) -> None:
        assert parse(flow, "involvement", "already; will be, before the design is agreed") == {
            "frontline": "already",
            "users_involved": "before_design",
        }


def test_stored_values_are_json_serialisable(flow: Flow) -> None:
    values = [
        parse(flow, "form", "formal"),
        parse(flow, "kinds", "nhs, private"),
        parse(flow, "first_review_date", "1 March 2027"),
        parse(flow, "objectives", "One\nTwo"),
        parse(flow, "timing", "not sure"),
        parse(flow, "added_value", "skip"),
    ]
    assert json.loads(json.dumps(values)) == values


class TestDisplay:
    @pytest.mark.parametrize(
        ("question_id", "value", "shown"),
        [
            ("coordinator", "protected", "Yes, with protected time"),
            ("coordinator", "not_sure", "Not sure"),
            ("exit_arrangements", "in_progress", "In progress"),
            ("form", "formal", "Formal and long-term (contract, pooled budget or new body)"),
            ("kinds", ["nhs", "private"], "NHS, Other private company"),
            ("first_review_date", "2027-03-01", "1 March 2027"),
            (
                "objectives",
                ["Cut delays, falls", "Fewer readmissions"],
                "Cut delays, falls; Fewer readmissions",
            ),
            ("name", "Discharge team", "Discharge team"),
            ("name", None, "Not answered"),
        ],
    )
    def test_in_words(self, flow: Flow, question_id: str, value: object, shown: str) -> None:
        assert display_answer(flow.question(question_id), value) == shown

    def test_organisations_lead_first_and_counted(self, flow: Flow) -> None:
        shown = display_answer(flow.question("organisations"), ["Trust", "Council", "Age UK"])
        assert shown == "Trust (lead), Council, Age UK (3 in all)"

    def test_a_group_part_by_part(self, flow: Flow) -> None:
        question = flow.question("timing")
        value = question.value_in({"first_result": "within_6_months", "full_benefit": "not_sure"})
        assert display_answer(question, value) == (
            "The first measurable result: Within 6 months · The full benefit: Not sure"
        )

    def test_a_group_leaves_out_an_optional_part_not_given(self, flow: Flow) -> None:
        question = flow.question("involvement")
        shown = display_answer(question, {"frontline": "already", "users_involved": "no"})
        assert shown == "Frontline staff: Already involved · Patients, carers or the community: No"
        shown = display_answer(question, {"frontline": "already"})
        assert shown.endswith("Patients, carers or the community: Not answered")

    def test_values_from_an_older_definition_are_shown_as_they_are(self, flow: Flow) -> None:
        assert display_answer(flow.question("form"), "joint_venture") == "joint_venture"
        assert display_answer(flow.question("first_review_date"), "soon") == "soon"
        assert display_answer(flow.question("timing"), {"full_benefit": 18}).endswith(": 18")
