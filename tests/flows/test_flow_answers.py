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
    return parse_answer(flow.question(question_id), raw, today=TODAY)  # type: ignore[arg-type]


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
        assert parse(flow, "coordinator", raw) == expected

    def test_shorthand_only_where_there_is_a_yes(self, flow: Flow) -> None:
        assert 'I didn\'t recognise "y"' in rejects(flow, "form", "y")

    def test_underscored_values_read_as_words(self, flow: Flow) -> None:
        assert parse(flow, "review_cadence", "six monthly") == "six_monthly"
        assert parse(flow, "senior_commitment", "not_all") == "not_all"

    def test_unknown_choice_lists_the_options(self, flow: Flow) -> None:
        assert rejects(flow, "lighter_route", "maybe") == (
            'I didn\'t recognise "maybe". Please choose one of: Yes, No, Unsure.'
        )

    def test_empty(self, flow: Flow) -> None:
        assert rejects(flow, "lighter_route", "  ") == "Please choose one of: Yes, No, Unsure."

    def test_more_than_one(self, flow: Flow) -> None:
        assert rejects(flow, "form", ["formal", "mou"]) == "Please give just one answer."


class TestMultiChoice:
    def test_values_from_checkboxes_in_option_order(self, flow: Flow) -> None:
        assert parse(flow, "partner_types", ["private", "nhs", "nhs"]) == ["nhs", "private"]

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("NHS, social care", ["nhs", "social_care"]),
            ("nhs; Private company\nhousing", ["nhs", "housing", "private"]),
            ("NHS and police & housing", ["nhs", "police", "housing"]),
            ("patient or community group", ["community"]),
        ],
    )
    def test_typed_labels_or_values(self, flow: Flow, raw: str, expected: list[str]) -> None:
        assert parse(flow, "partner_types", raw) == expected

    def test_at_least_one(self, flow: Flow) -> None:
        message = rejects(flow, "partner_types", " , ")
        assert message.startswith("Please choose at least one: NHS, Social care, Police")
        assert rejects(flow, "partner_types", []) == message

    def test_unknown_part_is_named(self, flow: Flow) -> None:
        message = rejects(flow, "partner_types", "NHS, fire service")
        assert message.startswith('I didn\'t recognise "fire service". Please choose from: NHS,')
        assert message.endswith("(separate them with commas).")

    def test_unknown_value_from_a_list(self, flow: Flow) -> None:
        assert 'recognise "army"' in rejects(flow, "partner_types", ["nhs", "army"])


class TestNumber:
    @pytest.mark.parametrize(("raw", "expected"), [("12", 12), (" 8 ", 8), ("+4", 4), (7, 7)])
    def test_whole_numbers(self, flow: Flow, raw: object, expected: int) -> None:
        assert parse(flow, "partner_count", raw) == expected

    def test_thousands_separator(self, flow: Flow) -> None:
        roomy = replace(flow.question("partner_count"), max=5000)
        assert parse_answer(roomy, "1,000", today=TODAY) == 1000
        assert rejects(flow, "partner_count", "1,000") == "Please type a number from 2 to 500."

    @pytest.mark.parametrize("raw", ["18 months", "18 Months", "18months", "1 month"])
    def test_unit_may_follow(self, flow: Flow, raw: str) -> None:
        assert parse(flow, "full_benefit_months", raw) == int(raw.split("m")[0].split()[0])

    @pytest.mark.parametrize("raw", ["twelve", "", "12 partners", "1e3", "12-14", "9" * 40])
    def test_not_a_number(self, flow: Flow, raw: str) -> None:
        assert rejects(flow, "partner_count", raw) == "Please type a number, like 12."

    def test_decimal(self, flow: Flow) -> None:
        assert rejects(flow, "partner_count", "2.5") == "Please type a whole number, like 12."

    @pytest.mark.parametrize("raw", ["1", "501", "-3", 0])
    def test_out_of_range(self, flow: Flow, raw: object) -> None:
        assert rejects(flow, "partner_count", raw) == "Please type a number from 2 to 500."

    def test_example_respects_the_range(self, flow: Flow) -> None:
        assert rejects(flow, "first_result_months", "soon") == "Please type a number, like 12."

    def test_booleans_are_not_numbers(self, flow: Flow) -> None:
        assert rejects(flow, "partner_count", True) == "Please type a number, like 12."  # type: ignore[arg-type]


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

    @pytest.mark.parametrize("raw", ["next week", "March 2027", "", "2027/03/01"])
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
        assert parse(flow, "objectives", "One\nTwo\n") == "One\nTwo"

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


def test_stored_values_are_json_serialisable(flow: Flow) -> None:
    values = [
        parse(flow, "form", "formal"),
        parse(flow, "partner_types", "nhs, private"),
        parse(flow, "partner_count", "3"),
        parse(flow, "first_review_date", "1 March 2027"),
        parse(flow, "objectives", "One"),
    ]
    assert json.loads(json.dumps(values)) == values


class TestDisplay:
    @pytest.mark.parametrize(
        ("question_id", "value", "shown"),
        [
            ("coordinator", "yes", "Yes"),
            ("review_cadence", "quarterly", "Quarterly"),
            ("form", "formal", "Formal long-term (contract, pooled budget, new body)"),
            ("partner_types", ["nhs", "private"], "NHS, Private company"),
            ("first_review_date", "2027-03-01", "1 March 2027"),
            ("partner_count", 1200, "1,200"),
            ("full_benefit_months", 18, "18 months"),
            ("full_benefit_months", 1, "1 month"),
            ("name", "Discharge team", "Discharge team"),
            ("name", None, "Not answered"),
        ],
    )
    def test_in_words(self, flow: Flow, question_id: str, value: object, shown: str) -> None:
        assert display_answer(flow.question(question_id), value) == shown

    def test_values_from_an_older_definition_are_shown_as_they_are(self, flow: Flow) -> None:
        assert display_answer(flow.question("form"), "joint_venture") == "joint_venture"
        assert display_answer(flow.question("first_review_date"), "soon") == "soon"
