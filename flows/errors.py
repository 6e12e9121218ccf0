"""The errors `flows` raises, under one base class so callers can catch them together."""


class FlowsError(Exception):
    """Base class for every error raised on purpose by the `flows` package."""


class FlowDefinitionError(FlowsError):
    """A flow definition file is missing or invalid; the message names the file and entry."""


class FlowError(FlowsError):
    """A step that is not possible from where the run is (e.g. `back` at the first question)."""


class AnswerError(FlowsError):
    """An answer that does not fit its question; the message is a re-prompt for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
