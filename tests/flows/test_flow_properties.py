"""Property-based tests: whatever a person does, a check run stays consistent.

The conversation machine itself is in flows_conversation (the review uses it too).
Answer parsing is tested on the questions of every packaged flow.
"""

from __future__ import annotations

import json
from typing import Any

from flows_conversation import any_raw, conversation_machine, valid_raw
from flows_testkit import TODAY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import AnswerError, Question, load_flow
from flows.answers import parse_answer

FLOW = load_flow("check")
QUESTIONS = [*FLOW.questions, *load_flow("review").questions]

test_check_conversation = conversation_machine(FLOW).TestCase


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(question=st.sampled_from(QUESTIONS), raw=any_raw)
def test_parsing_anything_gives_an_answer_or_a_reprompt(question: Question, raw: Any) -> None:
    try:
        value = parse_answer(question, raw, today=TODAY)
    except AnswerError as err:
        assert err.message and len(err.message) < 400
        return
    assert json.loads(json.dumps(value)) == value


@settings(max_examples=200)
@given(data=st.data(), question=st.sampled_from(QUESTIONS))
def test_a_stored_answer_is_accepted_back_unchanged(
    data: st.DataObject, question: Question
) -> None:
    value = parse_answer(question, data.draw(valid_raw(question)), today=TODAY)
    assert parse_answer(question, value, today=TODAY) == value
