"""A person doing a check through Slack: reads the bot's DM as Slack shows it and answers.

The proposer only sees what the fake Slack recorded, finds the question by its text in the
latest message and answers it the way a person would: a button for a choice, ticks and
Continue for several choices, a typed reply for the rest.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flows import Question, load_flow
from tests.fakeslack import FakeSlack
from tests.slack_driver import SlackDriver

FLOW = load_flow("check")
REVIEW_FLOW = load_flow("review")

# A complete proposal with no red flags: the verdict is Proceed.
GOOD = {
    "name": "Integrated discharge team",
    "lead_org": "Northshire NHS Foundation Trust",
    "partner_orgs": "Northshire County Council adult social care; Age UK Northshire",
    "partner_types": ["nhs", "social_care", "voluntary"],
    "problem": "Older people wait days in hospital for care at home after they are well.",
    "lighter_route": "no",
    "form": "mou",
    "costs_estimated": "yes",
    "partner_count": "3",
    "objectives": "Cut delayed discharges by a third; more people home within 24 hours.",
    "user_outcomes": "yes",
    "measures_defined": "yes",
    "measures": "Delayed transfers of care from the trust's daily sitrep.",
    "baseline": "yes",
    "evaluation": "funded",
    "first_result_months": "3",
    "system_level": "no",
    "full_benefit_months": "12",
    "resources": "money_and_staff",
    "milestones": "yes",
    "senior_commitment": "yes",
    "review_cadence": "quarterly",
    "first_review_date": (date.today() + timedelta(days=90)).isoformat(),
    "exit_arrangements": "yes",
    "value_decider": "The joint commissioning board",
    "frontline": "yes",
    "users_involved": "yes",
    "users_how": "Two carers sit on the design group.",
    "coordinator": "yes",
}


def question_in(message: dict[str, Any]) -> Question | None:
    """The flow question a bot message asks, recognised by its text; None for others."""
    texts = [
        block["text"]["text"]
        for block in message.get("blocks", [])
        if block.get("type") == "section" and "text" in block
    ]
    for question in (*FLOW.questions, *REVIEW_FLOW.questions):
        escaped = question.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if f"*{escaped}*" in texts and any(
            b.get("type") == "actions" and b.get("block_id") == "navigation"
            for b in message["blocks"]
        ):
            return question
    return None


def is_summary(message: dict[str, Any]) -> bool:
    """A check's summary (Post) or a review's (Submit review)."""
    return any(
        e.get("action_id") in ("post", "review_submit")
        for b in message.get("blocks", [])
        for e in b.get("elements", [])
    )


class Proposer:
    def __init__(self, slack: SlackDriver, fake: FakeSlack, user: str) -> None:
        self.slack, self.fake, self.user = slack, fake, user

    @property
    def dm(self) -> str:
        return self.fake.dm_channel(self.user)

    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages(self.dm) if m.get("bot_id")]

    def latest(self) -> dict[str, Any]:
        return self.bot_messages()[-1]

    def wait_for_prompt(self, after: int = 0) -> dict[str, Any]:
        """The newest question or summary posted after the first `after` bot messages."""

        def prompt() -> dict[str, Any] | None:
            for message in reversed(self.bot_messages()[after:]):
                if question_in(message) or is_summary(message):
                    return message
            return None

        return self.fake.wait_for(prompt, message=f"a question or summary for {self.user}")

    def start(self) -> dict[str, Any]:
        seen = len(self.bot_messages())
        response = self.slack.command(self.user, "")
        assert response.status == 200
        return self.wait_for_prompt(seen)

    def count(self) -> int:
        """How many bot messages the DM has: a mark to wait for newer ones after."""
        return len(self.bot_messages())

    def answer(self, message: dict[str, Any], value: Any) -> dict[str, Any]:
        """Answer the question in `message` and return the next question or summary."""
        question = question_in(message)
        assert question is not None, f"not a question: {message['text']}"
        seen = self.count()
        if question.type == "choice":
            response = self.slack.press(self.user, message, value=answer_value(message, value))
        elif question.type == "multi_choice":
            self.slack.select(self.user, message, "choices_draft", list(value))
            response = self.slack.press(self.user, message, action_id="choices_done")
        else:
            response = self.slack.dm(self.user, str(value))
        assert response.status == 200, response.text
        return self.wait_for_prompt(seen)

    def complete(self, answers: dict[str, Any]) -> dict[str, Any]:
        """Run a whole check with `answers` (by question id); returns the summary message."""
        message = self.start()
        for _ in range(len(FLOW.questions) + 1):
            if is_summary(message):
                return message
            question = question_in(message)
            assert question is not None
            assert question.id in answers, f"no answer given for {question.id}"
            message = self.answer(message, answers[question.id])
        raise AssertionError("the check never reached its summary")


def answer_value(message: dict[str, Any], option: str) -> str:
    """The full value of the answer button for `option` (values carry conversation/version)."""
    for block in message["blocks"]:
        for element in block.get("elements", []):
            value = element.get("value", "")
            if element.get("type") == "button" and value.endswith(f".{option}"):
                return value
    raise AssertionError(f"no button for {option!r} in {message['text']}")
