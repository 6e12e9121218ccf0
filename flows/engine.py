"""A run through a flow: one question at a time, with back, change-an-answer and cancel.

The conversation is a `transitions` state machine with one state per question plus
`summary`, `done` and `cancelled`. Branching lives in the machine as guarded
transitions: from each question, `answered` tries the later questions in order and
takes the first whose `ask_when` holds, else goes to the summary.

Building a `Machine` costs milliseconds, too much per Slack request, so it is compiled
once per Flow and shared by every run of that flow. That is safe across threads because
the shared machine is never changed after it is built: runs are not registered with it
(no `add_model`), events are fired with the run passed explicitly
(`machine.events[name].trigger(run)`), and every callback and guard reads and writes
only that run. A FlowRun itself is cheap and belongs to one request.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from transitions import EventData, Machine, MachineError, State

from flows.answers import Raw, parse_answer
from flows.definition import Flow, Question
from flows.errors import FlowError

SUMMARY = "summary"
DONE = "done"
CANCELLED = "cancelled"

_ANSWERED = "answered"
# While changing an answer from the summary: go on to the next question that has become
# relevant and has no answer yet, else straight back to the summary.
_ANSWERED_IN_REVISION = "answered_in_revision"
_FINISH = "finish"
_CANCEL = "cancel"


def _back_to(state: str) -> str:
    return f"back_to:{state}"


def _revise(question_id: str) -> str:
    return f"revise:{question_id}"


class _Applies:
    """Guard: the destination question applies given the run's answers."""

    def __init__(self, question: Question, *, unanswered: bool = False) -> None:
        self.question = question
        self.unanswered = unanswered

    def __call__(self, event: EventData) -> bool:
        answers = event.model._answers
        if self.unanswered and self.question.id in answers:
            return False
        return self.question.applies(answers)


def _compile(flow: Flow) -> Machine:
    ids = [question.id for question in flow.questions]
    machine = Machine(
        model=None,  # runs are passed to each trigger, never registered (see module doc)
        states=[*ids, State(SUMMARY, on_enter=["_settle_at_summary"]), DONE, CANCELLED],
        initial=ids[0],
        auto_transitions=False,  # all-pairs `to_<state>` would be ~1,000 unused transitions
        send_event=True,
        model_attribute="_state",  # `state` is a read-only property of FlowRun
        ignore_invalid_triggers=False,
    )
    for index, question in enumerate(flow.questions):
        later = flow.questions[index + 1 :]
        # Candidates stop at the first question that is always asked, so this stays small.
        for candidate in later:
            if candidate.ask_when is None:
                machine.add_transition(_ANSWERED, question.id, candidate.id)
                break
            machine.add_transition(
                _ANSWERED, question.id, candidate.id, conditions=_Applies(candidate)
            )
        else:
            machine.add_transition(_ANSWERED, question.id, SUMMARY)
        # In a revision the next stop is the next question that applies and has no answer:
        # one a changed answer made relevant, or one of the tips being re-run (`rerun`).
        for candidate in later:
            machine.add_transition(
                _ANSWERED_IN_REVISION,
                question.id,
                candidate.id,
                conditions=_Applies(candidate, unanswered=True),
            )
        machine.add_transition(_ANSWERED_IN_REVISION, question.id, SUMMARY)
        machine.add_transition(
            _back_to(question.id), [q.id for q in later] + [SUMMARY], question.id
        )
        machine.add_transition(_revise(question.id), SUMMARY, question.id)
    machine.add_transition(_back_to(SUMMARY), ids, SUMMARY, before="_undo_revision")
    machine.add_transition(_FINISH, SUMMARY, DONE)
    machine.add_transition(_CANCEL, [*ids, SUMMARY], CANCELLED)
    return machine


_machines: weakref.WeakKeyDictionary[Flow, Machine] = weakref.WeakKeyDictionary()
_machines_lock = threading.Lock()


def _machine_for(flow: Flow) -> Machine:
    with _machines_lock:
        machine = _machines.get(flow)
        if machine is None:
            machine = _machines[flow] = _compile(flow)
        return machine


class FlowRun:
    """One person's way through a flow; cheap to build, restored from `snapshot()`.

    History is a stack of the states actually visited, so `back` skips questions that
    branching skipped. "Change an answer" (`revise`) starts a revision: the answers are
    kept aside, and going back out of it to the summary restores them, so the summary
    is never shown with a question left unanswered.
    """

    def __init__(
        self,
        flow: Flow,
        snapshot: dict[str, Any] | None = None,
        *,
        today: dt.date | None = None,
    ) -> None:
        self.flow = flow
        self._machine = _machine_for(flow)
        self._today = today or dt.date.today()
        self._state: str = flow.questions[0].id
        self._answers: dict[str, Any] = {}
        self._history: list[str] = []
        self._revision_backup: dict[str, Any] | None = None
        if snapshot is not None:
            self._restore(snapshot)

    # --- reading -------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def current(self) -> Question | None:
        return self.flow.question(self._state) if self.flow.has_question(self._state) else None

    @property
    def answers(self) -> dict[str, Any]:
        return _copy_answers(self._answers)

    @property
    def progress(self) -> tuple[int, int]:
        """(position of the current question, questions that apply given answers so far)."""
        applicable = [question.id for question in self.flow.applicable(self._answers)]
        if self._state in applicable:
            return applicable.index(self._state) + 1, len(applicable)
        return len(applicable), len(applicable)

    @property
    def can_go_back(self) -> bool:
        return bool(self._history) and not self.is_finished

    @property
    def is_finished(self) -> bool:
        return self._state in (DONE, CANCELLED)

    @property
    def is_revising(self) -> bool:
        """True while changing an answer from the summary."""
        return self._revision_backup is not None

    # --- steps ---------------------------------------------------------------------

    def answer(self, raw: Raw) -> None:
        """Store an answer to the current question and move on; AnswerError if invalid."""
        question = self.current
        if question is None:
            raise FlowError(f"There is no question to answer: the check is at '{self._state}'.")
        value = parse_answer(question, raw, today=self._today)
        checkpoint = self._checkpoint()
        self._answers = self.flow.relevant_answers({**self._answers, question.id: value})
        self._history = [*self._history, question.id]
        self._fire(_ANSWERED_IN_REVISION if self.is_revising else _ANSWERED, checkpoint, "answer")

    def back(self) -> None:
        """Go to the previous question actually asked (or out of a revision, to the summary)."""
        if not self.can_go_back:
            raise FlowError("There is nothing to go back to.")
        checkpoint = self._checkpoint()
        *self._history, target = self._history
        self._fire(_back_to(target), checkpoint, "go back")

    def revise(self, question_id: str) -> None:
        """From the summary, go to one question to change its answer."""
        if self._state != SUMMARY:
            raise FlowError("Answers can only be changed from the summary.")
        if not self.flow.has_question(question_id):
            raise FlowError(f"There is no question '{question_id}'.")
        if not self.flow.question(question_id).applies(self._answers):
            raise FlowError(f"Question '{question_id}' does not apply to this check.")
        checkpoint = self._checkpoint()
        self._revision_backup = _copy_answers(self._answers)
        self._history = [SUMMARY]
        self._fire(_revise(question_id), checkpoint, "change an answer")

    @classmethod
    def rerun(
        cls,
        flow: Flow,
        answers: dict[str, Any],
        tips: Sequence[str],
        *,
        today: dt.date | None = None,
    ) -> FlowRun:
        """A finished run's answers with the questions of `tips` to be asked again.

        Used when a partnership is adapted: it is a revision from the summary, so every
        cleared question that applies is asked in order, then the summary shows the new
        assessment; going back out of it restores the old answers.
        """
        unknown = [tip for tip in tips if tip not in {t.id for t in flow.tips}]
        if unknown:
            raise FlowError(f"There is no tip '{unknown[0]}' in '{flow.id}'.")
        kept = flow.relevant_answers(answers)
        missing = [q.id for q in flow.applicable(kept) if q.id not in kept]
        if missing:
            raise FlowError(f"Those answers are not complete: '{missing[0]}' has none.")
        run = cls(flow, {"state": SUMMARY, "answers": kept, "history": []}, today=today)
        cleared = {k: v for k, v in kept.items() if flow.question(k).tip not in tips}
        first = next((q for q in flow.applicable(cleared) if q.id not in cleared), None)
        if first is None:
            raise FlowError("Those tips have no questions to ask again.")
        run.revise(first.id)
        run._answers = cleared
        return run

    def cancel(self) -> None:
        self._fire(_CANCEL, self._checkpoint(), "cancel")

    def finish(self) -> None:
        self._fire(_FINISH, self._checkpoint(), "finish")

    # --- saving --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to rebuild this run; JSON-serialisable."""
        return {
            "flow": self.flow.id,
            "version": self.flow.version,
            "state": self._state,
            "answers": _copy_answers(self._answers),
            "history": list(self._history),
            "revision_backup": (
                None if self._revision_backup is None else _copy_answers(self._revision_backup)
            ),
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        """Load a snapshot, refusing one that does not fit this flow rather than guessing."""
        try:
            flow_id = snapshot.get("flow", self.flow.id)
            state = snapshot["state"]
            answers = snapshot["answers"]
            history = snapshot["history"]
            backup = snapshot.get("revision_backup")
        except (AttributeError, KeyError, TypeError) as err:
            raise FlowError(f"Not a snapshot of a run: missing {err}.") from err
        problem = None
        if flow_id != self.flow.id:
            problem = f"it belongs to flow '{flow_id}'"
        elif not isinstance(state, str) or state not in self._machine.states:
            problem = f"unknown state {state!r}"
        elif not _known_answers(self.flow, answers) or not (
            backup is None or _known_answers(self.flow, backup)
        ):
            problem = "it has answers to unknown questions"
        elif not isinstance(history, list) or not all(
            isinstance(item, str) and item in self._machine.states for item in history
        ):
            problem = "its history names unknown states"
        elif SUMMARY in history and (backup is None or history.index(SUMMARY) != 0):
            problem = "its history returns to the summary outside a revision"
        elif self.flow.has_question(state) and not self.flow.question(state).applies(answers):
            problem = f"question '{state}' does not apply to its answers"
        if problem:
            raise FlowError(f"Cannot restore this run of '{self.flow.id}': {problem}.")
        self._state = state
        self._answers = _copy_answers(answers)
        self._history = list(history)
        self._revision_backup = None if backup is None else _copy_answers(backup)

    # --- machinery -----------------------------------------------------------------

    def _checkpoint(self) -> tuple[Any, ...]:
        # Steps replace these objects rather than mutate them, so references suffice.
        return self._state, self._answers, self._history, self._revision_backup

    def _fire(self, trigger: str, checkpoint: tuple[Any, ...], action: str) -> None:
        """Fire an event; on any failure put the run back exactly as it was."""
        try:
            if not self._machine.events[trigger].trigger(self):
                # No guard passed; the compiled table always has a fallback, so this is a bug.
                raise FlowError(f"Cannot {action} from '{checkpoint[0]}'.")
        except MachineError as err:
            self._state, self._answers, self._history, self._revision_backup = checkpoint
            raise FlowError(f"Cannot {action} from '{checkpoint[0]}'.") from err
        except BaseException:
            self._state, self._answers, self._history, self._revision_backup = checkpoint
            raise

    # Callbacks named in the compiled machine.

    def _settle_at_summary(self, _event: EventData) -> None:
        # At the summary every applicable question is answered, so the way back is simply
        # the questions in order; any revision is complete.
        self._history = [question.id for question in self.flow.applicable(self._answers)]
        self._revision_backup = None

    def _undo_revision(self, _event: EventData) -> None:
        if self._revision_backup is not None:
            self._answers = self._revision_backup


def _copy_answers(answers: dict[str, Any]) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, list) else value for key, value in answers.items()
    }


def _known_answers(flow: Flow, answers: object) -> bool:
    return isinstance(answers, dict) and all(
        isinstance(key, str) and flow.has_question(key) for key in answers
    )
