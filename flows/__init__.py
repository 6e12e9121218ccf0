"""The conversations of the partnership bot, independent of Slack.

A flow (questions, tips and red-flag rules) is loaded from editable TOML, run one answer
at a time by `FlowRun`, and turned into a recommendation by `assess`. Two flows are
packaged: "check" (a proposed partnership, with a verdict) and "review" (a periodic
review, without one). `flows.schedule` works out when reviews and their reminders fall.
"""

from flows.answers import display_answer, display_part
from flows.assessment import Assessment, RaisedFlag, assess
from flows.conditions import IN_PROGRESS, NOT_SURE
from flows.definition import VERDICTS, Flow, Part, Question, Tip, load_flow
from flows.engine import FlowRun, Migration
from flows.errors import AnswerError, FlowDefinitionError, FlowError, FlowsError

__all__ = [
    "IN_PROGRESS",
    "NOT_SURE",
    "VERDICTS",
    "AnswerError",
    "Assessment",
    "Flow",
    "FlowDefinitionError",
    "FlowError",
    "FlowRun",
    "FlowsError",
    "Migration",
    "Part",
    "Question",
    "RaisedFlag",
    "Tip",
    "assess",
    "display_answer",
    "display_part",
    "load_flow",
]
