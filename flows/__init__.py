"""The conversations of the partnership bot, independent of Slack.

A flow (questions, tips and red-flag rules) is loaded from editable TOML, run one answer
at a time by `FlowRun`, and turned into a recommendation by `assess`. Two flows are
packaged: "check" (a proposed partnership, with a verdict) and "review" (a periodic
review, without one). `flows.schedule` works out when reviews and their reminders fall.
"""

from flows.answers import display_answer
from flows.assessment import Assessment, RaisedFlag, assess
from flows.definition import VERDICTS, Flow, Question, Tip, load_flow
from flows.engine import FlowRun
from flows.errors import AnswerError, FlowDefinitionError, FlowError, FlowsError

__all__ = [
    "VERDICTS",
    "AnswerError",
    "Assessment",
    "Flow",
    "FlowDefinitionError",
    "FlowError",
    "FlowRun",
    "FlowsError",
    "Question",
    "RaisedFlag",
    "Tip",
    "assess",
    "display_answer",
    "load_flow",
]
