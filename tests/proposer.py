"""A person doing a check through Slack: reads the bot's DM as Slack shows it and answers.

The proposer only sees what the fake Slack recorded, finds the question by its text in the
latest message and answers it the way a person would: a button for a choice, ticks and
Continue for several choices, a typed reply for the rest.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.sandbox.fakeslack import FakeSlack
from flows import Question, load_flow
from tests.slack_driver import SlackDriver

FLOW = load_flow("check")
REVIEW_FLOW = load_flow("review")
PARTNER_FLOW = load_flow("partner")

# A complete proposal with no red flags: the verdict is Proceed. Groups are answered
# with a dict of their parts; `objectives` is sent as separate messages (a list).
GOOD: dict[str, Any] = {
    "name": "Integrated discharge team",
    "organisations": (
        "Northshire NHS Foundation Trust, Northshire County Council, Age UK Northshire"
    ),
    "kinds": ["nhs", "social_care", "voluntary"],
    "problem": "Older people wait days in hospital for care at home after they are well.",
    "lighter_route": "no",
    "added_value": "One team and one assessment instead of three referrals.",
    "form": "mou",
    "costs": "both",
    "objectives": ["Cut delayed discharges by a third", "More people home within 24 hours"],
    "user_outcomes": "yes",
    "measuring": {"measures": "all", "baseline": "yes"},
    "evaluation": "funded",
    "timing": {"first_result": "within_6_months", "full_benefit": "months_12_to_24"},
    "commitment": {"resources": "money_and_staff", "senior_commitment": "all"},
    "milestones": "yes",
    "reviews": {"review_cadence": "quarterly", "value_decider": "joint_board"},
    "first_review_date": (date.today() + timedelta(days=90)).isoformat(),
    "exit_arrangements": "yes",
    "involvement": {
        "frontline": "already",
        "users_involved": "already",
        "users_how": "design_group",
    },
    "coordinator": "protected",
}


def _asked(question: Question) -> str:
    """A question's text as its message shows it: bold, mrkdwn-escaped."""
    escaped = question.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"*{escaped}*"


# Shown text -> (order, question): the first of the flows' questions with that text wins.
_QUESTIONS: dict[str, tuple[int, Question]] = {}
for _order, _question in enumerate(
    (*FLOW.questions, *REVIEW_FLOW.questions, *PARTNER_FLOW.questions)
):
    _QUESTIONS.setdefault(_asked(_question), (_order, _question))


def question_in(message: dict[str, Any]) -> Question | None:
    """The flow question a bot message asks, recognised by its text; None for others."""
    blocks = message.get("blocks", [])
    if not any(b.get("type") == "actions" and b.get("block_id") == "navigation" for b in blocks):
        return None
    found = [
        _QUESTIONS[block["text"]["text"]]
        for block in blocks
        if block.get("type") == "section"
        and "text" in block
        and block["text"]["text"] in _QUESTIONS
    ]
    return min(found, key=lambda f: f[0])[1] if found else None


def is_summary(message: dict[str, Any]) -> bool:
    """A check's summary (Post), a review's (Submit review) or a partner's (Send my view)."""
    return any(
        e.get("action_id") in ("post", "review_submit", "view_send")
        for b in message.get("blocks", [])
        for e in b.get("elements", [])
    )


class Proposer:
    def __init__(self, slack: SlackDriver, fake: FakeSlack, user: str) -> None:
        self.slack, self.fake, self.user = slack, fake, user

    @property
    def dm(self) -> str:
        return self.fake.dm_channel(self.user)

    def bot_messages(self, after: int = 0) -> list[dict[str, Any]]:
        """The bot's messages in the DM, oldest first (those after the first `after`)."""
        return self.fake.messages(self.dm, bot_only=True, after=after)

    def latest(self) -> dict[str, Any]:
        return self.bot_messages(max(self.count() - 1, 0))[-1]

    def wait_for_prompt(self, after: int = 0) -> dict[str, Any]:
        """The newest question or summary posted after the first `after` bot messages.

        Only the messages after `after` are read, and only when the DM changes: a person
        waiting for the bot is not woken by what happens in anybody else's DM.
        """
        dm = self.dm

        def prompt() -> dict[str, Any] | None:
            for message in reversed(self.fake.messages(dm, bot_only=True, after=after)):
                if question_in(message) or is_summary(message):
                    return message
            return None

        return self.fake.wait_for(
            prompt, channel=dm, message=f"a question or summary for {self.user}"
        )

    def start(self) -> dict[str, Any]:
        seen = len(self.bot_messages())
        response = self.slack.command(self.user, "")
        assert response.status == 200
        return self.wait_for_prompt(seen)

    def count(self) -> int:
        """How many bot messages the DM has: a mark to wait for newer ones after."""
        return self.fake.count_messages(self.dm, bot_only=True)

    def answer(self, message: dict[str, Any], value: Any) -> dict[str, Any]:
        """Answer the question in `message` and return the next question or summary.

        As a person would: a button for a choice (or the menu when there are many), ticks
        and Continue, a radio button per part of a group and Continue, each item of a
        list as its own message and then Done, the suggested date's button or the date
        picker, and a typed reply for the rest.
        """
        question = question_in(message)
        assert question is not None, f"not a question: {message['text']}"
        seen = self.count()
        if question.type == "choice" and has_element(message, "static_select"):
            response = self.slack.select(
                self.user, message, "answer_select", answer_value(message, value, "option")
            )
        elif question.type == "choice":
            response = self.slack.press(self.user, message, value=answer_value(message, value))
        elif question.type == "multi_choice":
            self.slack.select(self.user, message, "choices_draft", list(value))
            response = self.slack.press(self.user, message, action_id="choices_done")
        elif question.type == "group":
            for part, chosen in dict(value).items():
                self.slack.select_in_block(self.user, message, f"part:{part}", chosen)
            response = self.slack.press(self.user, message, action_id="parts_done")
        elif question.type == "list" and question.more_messages and isinstance(value, list):
            return self.send_items(message, value)
        elif question.type == "date" and has_element(message, "datepicker"):
            if any(e.get("value", "").endswith(f".{value}") for e in elements(message)):
                response = self.slack.press(self.user, message, action_id="answer_suggested")
            else:
                response = self.slack.select(self.user, message, "answer_date", str(value))
        elif question.optional and value is None:
            response = self.slack.press(self.user, message, action_id="answer_suggested")
        else:
            response = self.slack.dm(self.user, str(value))
        assert response.status == 200, response.text
        return self.wait_for_prompt(seen)

    def send_items(self, message: dict[str, Any], items: list[str]) -> dict[str, Any]:
        """Send each item as its own message (Enter sends, in Slack), then press Done unless
        the question moved on by itself at its most items."""
        question = question_in(message)
        assert question is not None
        current = message
        for item in items:
            seen = self.count()
            response = self.slack.dm(self.user, item)
            assert response.status == 200, response.text
            current = self.wait_for_prompt(seen)
        if question_in(current) is question:
            seen = self.count()
            response = self.slack.press(self.user, current, action_id="list_done")
            assert response.status == 200, response.text
            current = self.wait_for_prompt(seen)
        return current

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


def elements(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every interactive element of a message, in order."""
    found = []
    for block in message.get("blocks", []):
        found += block.get("elements", [])
        if "accessory" in block:
            found.append(block["accessory"])
    return found


def has_element(message: dict[str, Any], kind: str) -> bool:
    return any(element.get("type") == kind for element in elements(message))


def answer_value(message: dict[str, Any], option: str, kind: str = "button") -> str:
    """The full value of the answer button (or menu option) for `option` (values carry the
    conversation and its version)."""
    for element in elements(message):
        is_button = kind == "button" and element.get("type") == "button"
        if is_button and element.get("value", "").endswith(f".{option}"):
            return element["value"]
        for choice in element.get("options", []) if kind == "option" else []:
            if choice["value"].endswith(f".{option}"):
                return choice["value"]
    raise AssertionError(f"no {kind} for {option!r} in {message['text']}")
