"""A hypothesis state machine that drives any flow as an erratic person would.

Random sequences of valid and invalid answers, back, change-an-answer, cancel, finish
and save/restore; only AnswerError or FlowError may come out, and a failed step must
leave the run exactly as it was. Built per flow, so the check and the review share it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flows_testkit import TODAY
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from flows import AnswerError, Flow, FlowError, FlowRun, Question
from flows.answers import MONTHS

any_raw = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["yes", "Y", "no", "twelve", "12", "31/02/2027", "1 March 2027", " "]),
    st.integers(min_value=-10, max_value=1000),
    st.lists(st.sampled_from(["nhs", "private", "bogus", "yes", "none", "adapt"]), max_size=3),
)


@st.composite
def valid_raw(draw: st.DrawFn, question: Question) -> Any:
    """Something a person could reasonably type or click that must be accepted."""
    if question.type == "choice":
        option = draw(st.sampled_from(question.options))
        return draw(st.sampled_from([option.value, option.label, option.label.upper()]))
    if question.type == "multi_choice":
        chosen = draw(st.lists(st.sampled_from(question.options), min_size=1, unique=True))
        if draw(st.booleans()):
            return [option.value for option in chosen]
        return ", ".join(option.label for option in chosen)
    if question.type == "number":
        number = draw(st.integers(question.min, question.max))
        return draw(st.sampled_from([number, str(number), f" {number} "]))
    if question.type == "date":
        days = draw(st.integers(question.min_days_from_today, question.max_days_from_today))
        day = TODAY + dt.timedelta(days=days)
        return draw(
            st.sampled_from(
                [
                    day.isoformat(),
                    day.strftime("%d/%m/%Y"),
                    f"{day.day} {MONTHS[day.month - 1]} {day.year}",
                    f"{day.day} {MONTHS[day.month - 1][:3]} {day.year}",
                ]
            )
        )
    return draw(st.text(min_size=1, max_size=40).filter(str.strip))


def conversation_machine(flow: Flow) -> type[RuleBasedStateMachine]:
    """The state machine for `flow`; use its `.TestCase` as a test."""
    question_ids = [q.id for q in flow.questions]
    states = {*question_ids, "summary", "done", "cancelled"}

    class Conversation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.run = FlowRun(flow, today=TODAY)

        def attempt(self, step: Any) -> None:
            """Run a step; if it is refused, the run must not have changed at all."""
            before = self.run.snapshot()
            try:
                step()
            except (AnswerError, FlowError):
                assert self.run.snapshot() == before

        @rule(data=st.data())
        def answer_validly(self, data: st.DataObject) -> None:
            question = self.run.current
            if question is None:
                return
            self.run.answer(data.draw(valid_raw(question)))  # must be accepted

        @rule(data=st.data(), count=st.integers(1, len(question_ids) + 3))
        def answer_several_validly(self, data: st.DataObject, count: int) -> None:
            # Reaching the summary (and so revise and finish) takes one answer a question.
            for _ in range(count):
                self.answer_validly(data)

        @rule(raw=any_raw)
        def answer_anything(self, raw: Any) -> None:
            self.attempt(lambda: self.run.answer(raw))

        @rule()
        def back(self) -> None:
            self.attempt(self.run.back)

        @rule(question_id=st.sampled_from([*question_ids, "nope"]))
        def revise(self, question_id: str) -> None:
            self.attempt(lambda: self.run.revise(question_id))

        @precondition(lambda self: self.run.state == "summary")
        @rule(data=st.data())
        def change_an_answer(self, data: st.DataObject) -> None:
            asked = [q.id for q in flow.applicable(self.run.answers)]
            self.run.revise(data.draw(st.sampled_from(asked)))
            assert self.run.is_revising

        # Cancel and finish end a run, so they are tried on one step in five only; a
        # finished run is then replaced by a new one to keep the sequence useful.
        @rule(roll=st.integers(0, 4))
        def cancel(self, roll: int) -> None:
            if roll == 0:
                self.attempt(self.run.cancel)

        @rule(roll=st.integers(0, 4))
        def finish(self, roll: int) -> None:
            if roll == 0:
                self.attempt(self.run.finish)

        @precondition(lambda self: self.run.is_finished)
        @rule()
        def start_again(self) -> None:
            self.run = FlowRun(flow, today=TODAY)

        @rule()
        def save_and_restore(self) -> None:
            saved = json.loads(json.dumps(self.run.snapshot()))
            self.run = FlowRun(flow, saved, today=TODAY)
            assert self.run.snapshot() == saved

        @invariant()
        def state_is_known(self) -> None:
            assert self.run.state in states
            assert (self.run.current is None) == (self.run.state not in question_ids)

        @invariant()
        def only_applicable_answers(self) -> None:
            answers = self.run.answers
            assert flow.relevant_answers(answers) == answers

        @invariant()
        def current_question_applies(self) -> None:
            if self.run.current is not None:
                assert self.run.current.applies(self.run.answers)

        @invariant()
        def summary_is_complete(self) -> None:
            if self.run.state == "summary":
                applicable = {q.id for q in flow.applicable(self.run.answers)}
                assert applicable == set(self.run.answers)

        @invariant()
        def progress_in_range(self) -> None:
            position, total = self.run.progress
            assert 1 <= position <= total

        @invariant()
        def finished_runs_cannot_go_back(self) -> None:
            if self.run.is_finished:
                assert not self.run.can_go_back

    Conversation.__name__ = Conversation.__qualname__ = f"{flow.id.title()}Conversation"
    Conversation.TestCase.settings = settings(max_examples=60, stateful_step_count=50)
    return Conversation
