"""Block Kit for changing a condition: what only the person changing it sees, asking why
it is dropped (typed; Enter sends) or who owns it now. The condition's id is in the
block_id, so the answer names what it answers."""

from __future__ import annotations

from bot.core.notifier import ConditionLine
from bot.slack.blocks import ActionId, Message, fallback, person_picker, section
from bot.slack.mrkdwn import escape

DROP_BLOCK = "drop:"  # block_id "drop:<condition id>"
GIVE_BLOCK = "give:"  # block_id "give:<condition id>"


def ask(condition: ConditionLine, what: str) -> Message:
    """Why drop `condition` ("drop"), or who should own it ("give")."""
    quoted = f"*{escape(condition.text)}*"
    if what == "drop":
        block = {
            "type": "input",
            "block_id": f"{DROP_BLOCK}{condition.id}",
            "dispatch_action": True,
            "label": {"type": "plain_text", "text": "Why drop it?"},
            "hint": {"type": "plain_text", "text": "Type the reason, then press Enter."},
            "element": {
                "type": "plain_text_input",
                "action_id": ActionId.CONDITION_DROP,
                "max_length": 500,
                "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed"]},
            },
        }
        return Message(fallback(f"Why drop it? {condition.text}"), [section(quoted), block])
    block = section(
        f"Who should own {quoted} now?",
        block_id=f"{GIVE_BLOCK}{condition.id}",
        accessory=person_picker(ActionId.CONDITION_GIVE),
    )
    return Message(fallback(f"Who should own it now? {condition.text}"), [block])
