"""A run through a flow: one question at a time, with back, change-an-answer and cancel.

The conversation is a `transitions` state machine with one state per question plus
`summary`, `done` and `cancelled`. Branching lives in the machine as guarded
transitions: from each question, `answered` first stops at the summary if the
question's `stop_when` holds, then tries the later questions in order and takes the
first that applies, else goes to the summary.

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
from dataclasses import dataclass
from typing import Any, cast

from transitions import EventData, Machine, MachineError, State

from flows import schedule
from flows.answers import Raw, check_items, parse_answer, parse_items
from flows.definition import Flow, Question
from flows.errors import AnswerError, FlowError

SUMMARY = "summary"
DONE = "done"
CANCELLED = "cancelled"

# The events of the compiled machine that flows.policy draws.
ANSWERED = "answered"
# While changing an answer from the summary: go on to the next question that has become
# relevant and has no answer yet, else straight back to the summary.
_ANSWERED_IN_REVISION = "answered_in_revision"
FINISH = "finish"
CANCEL = "cancel"


def _back_to(state: str) -> str:
    return f"back_to:{state}"


def _revise(question_id: str) -> str:
    return f"revise:{question_id}"


class _Applies:
    """Guard: the destination question is asked given the run's answers (its `ask_when`
    holds and no earlier question stopped the flow)."""

    def __init__(self, question: Question, *, unanswered: bool = False) -> None:
        self.question = question
        self.unanswered = unanswered
        self.condition, self.reads = question.ask_when, "if"  # for drawing the machine

    def __call__(self, event: EventData) -> bool:
        run = cast(FlowRun, event.model)
        if self.unanswered and self.question.is_answered(run._answers):
            return False
        return self.question in run.flow.applicable(run._answers)

    def __str__(self) -> str:
        return f"{self.question.id} is asked"


class _Stops:
    """Guard: the question just answered ends the flow early (its `stop_when` holds)."""

    def __init__(self, question: Question) -> None:
        self.question = question
        self.condition, self.reads = question.stop_when, "ends if"  # for drawing the machine

    def __call__(self, event: EventData) -> bool:
        return self.question.stops(cast(FlowRun, event.model)._answers)

    def __str__(self) -> str:
        return f"{self.question.id} stops the flow"


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
        if question.stop_when is not None:
            for trigger in (ANSWERED, _ANSWERED_IN_REVISION):
                machine.add_transition(trigger, question.id, SUMMARY, conditions=_Stops(question))
        # Candidates stop at the first question that is always asked, so this stays small.
        for candidate in later:
            if candidate.ask_when is None:
                machine.add_transition(ANSWERED, question.id, candidate.id)
                break
            machine.add_transition(
                ANSWERED, question.id, candidate.id, conditions=_Applies(candidate)
            )
        else:
            machine.add_transition(ANSWERED, question.id, SUMMARY)
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
        after: list[Any] = [*(q.id for q in later), SUMMARY]  # transitions takes State | str
        machine.add_transition(_back_to(question.id), after, question.id)
        machine.add_transition(_revise(question.id), SUMMARY, question.id)
    questions: list[Any] = list(ids)
    machine.add_transition(_back_to(SUMMARY), questions, SUMMARY, before="_undo_revision")
    machine.add_transition(FINISH, SUMMARY, DONE)
    machine.add_transition(CANCEL, [*questions, SUMMARY], CANCELLED)
    return machine


def compiled(flow: Flow) -> Machine:
    """The flow's compiled state machine (shared; read it, never change it)."""
    return _machine_for(flow)


# Everything a step may change, put back as it was when a step fails.
_CHECKPOINTED = ("_state", "_answers", "_history", "_revision_backup", "_pending", "_filling")

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
        # Items of a `more_messages` list given so far (the question is still open).
        self._pending: list[str] = []
        # Filling gaps: answers came from elsewhere (an older definition), so after each
        # answer the run goes on to the next question with no answer, not the next one.
        self._filling = False
        # What resuming under a newer definition changed (see `_migrate`); None if nothing.
        self.migration: Migration | None = None
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
    def pending(self) -> list[str]:
        """Items of the current list question given so far, waiting for more or Done."""
        return list(self._pending)

    @property
    def progress(self) -> tuple[int, int]:
        """(position of the current question, questions that apply given answers so far)."""
        applicable = [question.id for question in self.flow.applicable(self._answers)]
        if self._state in applicable:
            return applicable.index(self._state) + 1, len(applicable)
        return len(applicable), len(applicable)

    def suggestion(self) -> str | None:
        """The current date question's suggested answer (ISO), from earlier answers: the
        first review date that the chosen review cadence gives, for example."""
        question = self.current
        if question is None or question.default != "first_review":
            return None
        day = schedule.default_first_review(self._answers, self._today)
        low, high = question.min_days_from_today, question.max_days_from_today
        if low is not None:
            day = max(day, self._today + dt.timedelta(days=low))
        if high is not None:
            day = min(day, self._today + dt.timedelta(days=high))
        return day.isoformat()

    def tip_progress(self) -> tuple[int, int] | None:
        """(n, of) for the current question's tip among the assessed tips, e.g. (3, 5);
        None for an unassessed section such as "About the proposal". Unlike a question
        count it never jumps when branching adds or skips questions."""
        question = self.current
        if question is None:
            return None
        tips = [tip.id for tip in self.flow.assessed_tips]
        if question.tip not in tips:
            return None
        return tips.index(question.tip) + 1, len(tips)

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
        """Store an answer to the current question and move on; AnswerError if invalid.

        A `more_messages` list question takes typed text as more items: it moves on once
        it has its most items, else waits for more or `done()`. A list of items (a kept
        earlier answer) is always the whole answer.
        """
        question = self.current
        if question is None:
            raise FlowError(f"There is no question to answer: the check is at '{self._state}'.")
        if question.more_messages and not isinstance(raw, list):
            items = [*self._pending, *parse_items(question, raw)]
            if question.max_items is None or len(items) < question.max_items:
                if not items:
                    check_items(question, items)  # says what to type
                self._pending = items
                return
            if len(items) > question.max_items:
                kept = f" I still have the {len(self._pending)} you sent before." * bool(
                    self._pending
                )
                raise AnswerError(
                    f"That makes {len(items)}; please keep to at most {question.max_items}." + kept
                )
            raw = items
        values = parse_answer(question, raw, today=self._today)
        self._commit(question, values)

    def done(self) -> None:
        """Close a `more_messages` list question with the items given so far."""
        question = self.current
        if question is None or not question.more_messages:
            raise FlowError("There is no list to close here.")
        if not self._pending and question.is_answered(self._answers):
            earlier = self._answers[question.id]  # Back to it, then Done: keep that answer
            self._commit(question, {question.id: earlier})
            return
        self._commit(question, {question.id: check_items(question, self._pending)})

    def _commit(self, question: Question, values: dict[str, Any]) -> None:
        checkpoint = self._checkpoint()
        # A group's new answer replaces all of its parts (an optional one left out too).
        others = {k: v for k, v in self._answers.items() if k not in question.answer_ids}
        self._answers = self.flow.relevant_answers({**others, **values})
        self._history = [*self._history, question.id]
        self._pending = []
        skip_answered = self.is_revising or self._filling
        self._fire(_ANSWERED_IN_REVISION if skip_answered else ANSWERED, checkpoint, "answer")

    def back(self) -> None:
        """Go to the previous question actually asked (or out of a revision, to the summary)."""
        if not self.can_go_back:
            raise FlowError("There is nothing to go back to.")
        checkpoint = self._checkpoint()
        *self._history, target = self._history
        self._pending = []
        self._fire(_back_to(target), checkpoint, "go back")

    def revise(self, question_id: str) -> None:
        """From the summary, go to one question to change its answer."""
        if self._state != SUMMARY:
            raise FlowError("Answers can only be changed from the summary.")
        if not self.flow.has_question(question_id):
            raise FlowError(f"There is no question '{question_id}'.")
        if self.flow.question(question_id) not in self.flow.applicable(self._answers):
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
        assessment; going back out of it restores the old answers. Answers saved under
        an older definition are carried over as far as they fit (see `_migrate`); any
        question still unanswered is asked too.
        """
        unknown = [tip for tip in tips if tip not in {t.id for t in flow.tips}]
        if unknown:
            raise FlowError(f"There is no tip '{unknown[0]}' in '{flow.id}'.")
        kept = flow.relevant_answers(_fitting_answers(flow, answers))
        cleared = {k: v for k, v in kept.items() if _tip_of(flow, k) not in tips}
        first = next((q for q in flow.applicable(cleared) if not q.is_answered(cleared)), None)
        if first is None:
            raise FlowError("Those tips have no questions to ask again.")
        run = cls(flow, today=today)
        run._answers = cleared
        if all(q.is_answered(kept) for q in flow.applicable(kept)):
            # Going back out of it restores the old answers, complete, at the summary.
            run._state, run._revision_backup, run._history = first.id, kept, [SUMMARY]
        else:
            run._settle()  # older, incomplete answers: nothing whole to go back to
        return run

    @classmethod
    def at_summary(
        cls, flow: Flow, answers: dict[str, Any], *, today: dt.date | None = None
    ) -> FlowRun:
        """A finished run's answers back at its summary, to change some and check again
        (a re-check). Answers from an older definition are carried over as far as they
        fit; if a question is left unanswered, the run starts there instead."""
        run = cls(flow, today=today)
        run._answers = flow.relevant_answers(_fitting_answers(flow, answers))
        run._settle()
        return run

    def cancel(self) -> None:
        checkpoint = self._checkpoint()
        self._pending = []
        self._fire(CANCEL, checkpoint, "cancel")

    def finish(self) -> None:
        self._fire(FINISH, self._checkpoint(), "finish")

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
            "pending": list(self._pending),
            "filling": self._filling,
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        """Load a snapshot, refusing one that does not fit this flow rather than guessing.

        A snapshot saved under another version of the definition is migrated instead:
        the definition changed under a conversation in progress, which is expected.
        """
        try:
            flow_id = snapshot.get("flow", self.flow.id)
            state = snapshot["state"]
            answers = snapshot["answers"]
            history = snapshot["history"]
            backup = snapshot.get("revision_backup")
            pending = snapshot.get("pending") or []
            filling = snapshot.get("filling", False)
        except (AttributeError, KeyError, TypeError) as err:
            raise FlowError(f"Not a snapshot of a run: missing {err}.") from err
        if flow_id == self.flow.id and snapshot.get("version", 1) != self.flow.version:
            self._migrate(state, answers, backup)
            return
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
        elif self.flow.has_question(state) and (
            self.flow.question(state) not in self.flow.applicable(answers)
        ):
            problem = f"question '{state}' is not asked given its answers"
        elif not isinstance(pending, list) or not all(isinstance(i, str) for i in pending):
            problem = "its pending items are not text"
        elif pending and not (
            self.flow.has_question(state) and self.flow.question(state).more_messages
        ):
            problem = "it has pending items but is not at a list question"
        elif not isinstance(filling, bool):
            problem = "its 'filling' is not true or false"
        if problem:
            raise FlowError(f"Cannot restore this run of '{self.flow.id}': {problem}.")
        self._state = state
        self._answers = _copy_answers(answers)
        self._history = list(history)
        self._revision_backup = None if backup is None else _copy_answers(backup)
        self._pending = list(pending)
        self._filling = filling

    def _migrate(self, state: object, answers: object, backup: object) -> None:
        """Carry a run saved under an older (or newer) definition over to this one.

        Answers whose question still exists and whose value still fits it are kept; the
        run goes on at the first question that applies and has no answer, or at the
        summary when there is none. A revision in progress is abandoned (its complete
        answers are the ones kept), and so are list items not yet closed with Done.
        """
        given = backup if isinstance(backup, dict) else answers
        given = given if isinstance(given, dict) else {}
        self._answers = self.flow.relevant_answers(_fitting_answers(self.flow, given))
        before = (
            self.flow.question(state)
            if isinstance(state, str) and (self.flow.has_question(state))
            else None
        )
        self._settle()
        dropped = sorted(set(given) - set(self._answers))
        new = [
            q.id for q in self.flow.applicable(self._answers) if not q.is_answered(self._answers)
        ]
        self.migration = Migration(
            kept=len(self._answers),
            dropped=tuple(dropped),
            to_answer=tuple(new),
            same_place=before is not None and before.id == self._state,
        )

    def _settle(self) -> None:
        """Put the run at its first unanswered question, else at the summary."""
        applicable = self.flow.applicable(self._answers)
        first = next((q for q in applicable if not q.is_answered(self._answers)), None)
        self._state = SUMMARY if first is None else first.id
        before = applicable if first is None else applicable[: applicable.index(first)]
        self._history = [q.id for q in before]
        self._revision_backup = None
        self._pending = []
        self._filling = first is not None

    # --- machinery -----------------------------------------------------------------

    def _checkpoint(self) -> tuple[Any, ...]:
        # Steps replace these objects rather than mutate them, so references suffice.
        return tuple(getattr(self, name) for name in _CHECKPOINTED)

    def _fire(self, trigger: str, checkpoint: tuple[Any, ...], action: str) -> None:
        """Fire an event; on any failure put the run back exactly as it was."""
        try:
            if not self._machine.events[trigger].trigger(self):
                # No guard passed; the compiled table always has a fallback, so this is a bug.
                raise FlowError(f"Cannot {action} from '{checkpoint[0]}'.")
        except MachineError as err:
            self._restore_checkpoint(checkpoint)
            raise FlowError(f"Cannot {action} from '{checkpoint[0]}'.") from err
        except BaseException:
            self._restore_checkpoint(checkpoint)
            raise

    def _restore_checkpoint(self, checkpoint: tuple[Any, ...]) -> None:
        for name, value in zip(_CHECKPOINTED, checkpoint, strict=True):
            setattr(self, name, value)

    # Callbacks named in the compiled machine.

    def _settle_at_summary(self, _event: EventData) -> None:
        # At the summary every applicable question is answered, so the way back is simply
        # the questions in order; any revision is complete.
        self._history = [question.id for question in self.flow.applicable(self._answers)]
        self._revision_backup = None
        self._pending = []
        self._filling = False

    def _undo_revision(self, _event: EventData) -> None:
        if self._revision_backup is not None:
            self._answers = self._revision_backup


@dataclass(frozen=True)
class Migration:
    """What carrying a run over to a newer definition did, to tell the person in a line."""

    kept: int  # answers kept
    dropped: tuple[str, ...]  # answer ids whose question went or changed
    to_answer: tuple[str, ...]  # questions that apply and now need an answer
    same_place: bool  # the run is still at the question it was at


def _tip_of(flow: Flow, answer_id: str) -> str | None:
    question = flow.question_of(answer_id)
    return question.tip if question else None


def _fitting_answers(flow: Flow, answers: object) -> dict[str, Any]:
    """The answers that still fit `flow`: a known answer id, and a value of the right
    shape (an option it still offers, a number, a date, text, a list of items)."""
    if not isinstance(answers, dict):
        return {}
    kept = {}
    for answer_id, value in answers.items():
        question = flow.question_of(answer_id) if isinstance(answer_id, str) else None
        if question is not None and _fits(question, answer_id, value):
            kept[answer_id] = _copy_value(value)
    return kept


def _fits(question: Question, answer_id: str, value: object) -> bool:
    if question.parts:
        part = next(p for p in question.parts if p.id == answer_id)
        return part.option(value) is not None
    if value is None:
        return question.optional
    if question.type == "choice":
        return question.option(value) is not None
    if question.type == "multi_choice":
        return isinstance(value, list) and all(question.option(v) for v in value)
    if question.type == "number":
        return isinstance(value, int) and not isinstance(value, bool)
    if question.type == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return False
        return isinstance(value, str)
    if question.type == "list":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, str)


def _copy_value(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _copy_answers(answers: dict[str, Any]) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, list) else value for key, value in answers.items()
    }


def _known_answers(flow: Flow, answers: object) -> bool:
    return isinstance(answers, dict) and all(
        isinstance(key, str) and flow.question_of(key) is not None for key in answers
    )
