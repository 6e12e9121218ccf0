"""Conditions are three-valued: an honest Not sure / In progress makes a comparison unknown."""

from __future__ import annotations

import itertools

import pytest

from flows.conditions import (
    IN_PROGRESS,
    NOT_SURE,
    AllOf,
    AnyOf,
    Compare,
    Truth,
    parse_condition,
)

# A comparison that is true, false or unknown for the answers ANSWERS.
IS_YES = Compare("a", "equals", "yes")
ANSWERS = {"t": "yes", "f": "no", "u": NOT_SURE}
TRUTHS: dict[Truth, Compare] = {
    True: Compare("t", "equals", "yes"),
    False: Compare("f", "equals", "yes"),
    None: Compare("u", "equals", "yes"),
}


class TestCompare:
    @pytest.mark.parametrize(
        ("answers", "truth"),
        [
            ({"a": "yes"}, True),
            ({"a": "no"}, False),
            ({}, False),  # not asked, or not reached: never fires
            ({"a": NOT_SURE}, None),
            ({"a": IN_PROGRESS}, None),
            ({"a": ["yes"]}, False),  # a value of the wrong type: never fires
        ],
    )
    def test_judge(self, answers: dict, truth: Truth) -> None:
        assert IS_YES.judge(answers) is truth
        assert IS_YES.evaluate(answers) is (truth is True)  # branching: unknown is false

    def test_a_comparison_that_names_the_marker_is_known(self) -> None:
        assert Compare("a", "equals", NOT_SURE).judge({"a": NOT_SURE}) is True
        assert Compare("a", "equals", NOT_SURE).judge({"a": "no"}) is False
        assert Compare("a", "not_equals", NOT_SURE).judge({"a": NOT_SURE}) is False
        # Naming one marker says nothing of the other.
        assert Compare("a", "equals", NOT_SURE).judge({"a": IN_PROGRESS}) is None

    def test_in_names_the_markers_it_lists(self) -> None:
        short = Compare("a", "in", ("soon", NOT_SURE))
        assert short.names(NOT_SURE) and not short.names(IN_PROGRESS)
        assert short.judge({"a": NOT_SURE}) is True
        assert short.judge({"a": "late"}) is False
        assert Compare("a", "in", ("soon",)).judge({"a": NOT_SURE}) is None
        assert Compare("a", "not_in", ("soon",)).judge({"a": NOT_SURE}) is None

    def test_negations_of_an_unknown_are_unknown(self) -> None:
        assert Compare("a", "not_equals", "yes").judge({"a": NOT_SURE}) is None
        assert Compare("a", "not_equals", "yes").judge({"a": "no"}) is True

    def test_numbers_and_list_lengths(self) -> None:
        many = Compare("a", "greater_than", 8)
        assert many.judge({"a": 9}) is True
        assert many.judge({"a": [str(n) for n in range(9)]}) is True  # a list: its length
        assert many.judge({"a": [str(n) for n in range(8)]}) is False
        assert many.judge({"a": "nine"}) is False
        assert many.judge({"a": True}) is False

    def test_unknowns_names_the_marker(self) -> None:
        assert IS_YES.unknowns({"a": NOT_SURE}) == {NOT_SURE}
        assert IS_YES.unknowns({"a": IN_PROGRESS}) == {IN_PROGRESS}
        assert IS_YES.unknowns({"a": "no"}) == set()
        assert IS_YES.unknowns({}) == set()
        assert Compare("a", "equals", NOT_SURE).unknowns({"a": NOT_SURE}) == set()


def _kleene_and(truths: tuple[Truth, ...]) -> Truth:
    if False in truths:
        return False
    return None if None in truths else True


def _kleene_or(truths: tuple[Truth, ...]) -> Truth:
    if True in truths:
        return True
    return None if None in truths else False


COMBINATIONS = [
    combo for size in (1, 2, 3) for combo in itertools.product([True, False, None], repeat=size)
]


@pytest.mark.parametrize("truths", COMBINATIONS)
def test_all_and_any_follow_kleene_logic(truths: tuple[Truth, ...]) -> None:
    conditions = tuple(TRUTHS[truth] for truth in truths)
    assert AllOf(conditions).judge(ANSWERS) is _kleene_and(truths)
    assert AnyOf(conditions).judge(ANSWERS) is _kleene_or(truths)
    assert AllOf(conditions).evaluate(ANSWERS) is (_kleene_and(truths) is True)
    assert AnyOf(conditions).evaluate(ANSWERS) is (_kleene_or(truths) is True)


def test_nested_combinations() -> None:
    condition = parse_condition(
        {
            "any": [
                {"question": "t", "equals": "no"},
                {"all": [{"question": "u", "equals": "yes"}, {"question": "t", "equals": "yes"}]},
            ]
        }
    )
    assert condition.judge(ANSWERS) is None  # false or (unknown and true)
    assert condition.unknowns(ANSWERS) == {NOT_SURE}
    assert [c.question for c in condition.comparisons()] == ["t", "u", "t"]
    assert condition.judge({**ANSWERS, "u": "yes"}) is True
    assert condition.judge({**ANSWERS, "u": "no"}) is False
