"""Block Kit for partners' views: the proposer's list of partner organisations to invite
someone for, the invitation a partner gets, their summary, and who has answered.

Organisation names and everything else typed are escaped; a button's value is the id it
acts on (the check, or the invitation), checked against who pressed it by the core.
"""

from __future__ import annotations

from typing import Any

from bot.core.notifier import Invitation, Invitees
from bot.slack.blocks import (
    ActionId,
    Message,
    action_value,
    button,
    context,
    fallback,
    person_picker,
    revise_select,
    section,
)
from bot.slack.mrkdwn import clip, escape
from bot.slack.recommendation_blocks import flag_sections, tip_status_lines
from flows import Assessment, Flow, FlowRun, display_answer

INVITE_BLOCK = "invite:"  # block_id of an organisation's picker: "invite:<check id>:<n>"
INSTEAD_BLOCK = "instead:"  # block_id of the "who instead" picker: "instead:<view id>"
STATUS = {"invited": "asked, not answered yet", "answered": "answered", "declined": "declined"}


def invitees_message(invitees: Invitees) -> Message:
    """One picker per organisation: whoever is picked is asked for its view."""
    blocks: list[dict[str, Any]] = [
        section(
            f"*Partners' views of {escape(invitees.name)}*\n"
            "Pick one person per organisation to give its own view. Each gets a DM with "
            "a few questions (about 3 minutes); their answers join your check's verdict."
        )
    ]
    for n, line in enumerate(invitees.lines):
        text = f"*{escape(line.organisation)}*"
        if line.user_id and line.status:
            text += f"\n<@{line.user_id}>: {STATUS.get(line.status, line.status)}"
        else:
            text += "\nNobody asked yet."
        block = section(text, block_id=f"{INVITE_BLOCK}{invitees.check_id}:{n}")
        if line.status != "answered":
            block["accessory"] = person_picker(ActionId.INVITE_PICK, line.user_id)
        blocks.append(block)
    blocks.append(context("Only you, as the proposer, can invite. Change who is asked any time."))
    return Message(fallback(f"Partners' views of {invitees.name}"), blocks)


def _about(invitation: Invitation) -> str:
    title = escape(invitation.name)
    if invitation.reference:
        title = f"{invitation.reference} · {title}"
    lines = [f"*{title}*"]
    if invitation.problem:
        lines.append(clip(escape(invitation.problem), 600))
    return "\n".join(lines)


def invitation_message(invitation: Invitation, again: bool = False) -> Message:
    """Who asked, about what, for which organisation, and how long it takes."""
    organisation = escape(invitation.organisation)
    opening = ":wave: A reminder: " if again else ""
    text = (
        f"{opening}<@{invitation.proposer_id}> asks you to give *{organisation}*'s view of a "
        f"proposed partnership: {invitation.questions} short questions, about 3 minutes. "
        "Answer for your own organisation; *Not sure* is always an honest answer."
    )
    value = str(invitation.view_id)
    blocks = [
        section(text),
        section(_about(invitation)),
        {
            "type": "actions",
            "block_id": "invitation",
            "elements": [
                button("Start", ActionId.VIEW_START, value, style="primary"),
                button("Not me", ActionId.VIEW_NOT_ME, value),
            ],
        },
        context("Not the right person? Press *Not me* and say who should answer instead."),
    ]
    return Message(
        fallback(f"Your view of {invitation.name}, for {invitation.organisation}"), blocks
    )


def who_instead_message(invitation: Invitation) -> Message:
    organisation = escape(invitation.organisation)
    blocks = [
        section(
            f"Who should give *{organisation}*'s view of {escape(invitation.name)} instead?",
            block_id=f"{INSTEAD_BLOCK}{invitation.view_id}",
            accessory=person_picker(ActionId.VIEW_INSTEAD),
        ),
        {
            "type": "actions",
            "block_id": "nobody",
            "elements": [
                button("I don't know who", ActionId.VIEW_NOBODY, str(invitation.view_id)),
                button("Start after all", ActionId.VIEW_START, str(invitation.view_id)),
            ],
        },
        context(f"<@{invitation.proposer_id}>, who asked you, will be told."),
    ]
    return Message(fallback(f"Who should answer for {invitation.organisation}?"), blocks)


def closed_invitation(text: str) -> Message:
    return Message(fallback(text), [section(text)])


def partner_summary(
    flow: Flow,
    run: FlowRun,
    assessment: Assessment,
    invitation: Invitation,
    conversation_id: int,
    version: int,
) -> Message:
    """The partner's answers before they send them: their flags, and Send / Change /
    Discard."""
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731
    organisation = escape(invitation.organisation)
    flagged = (
        "Your answers raise these flags; each comes with what would settle it."
        if assessment.flags
        else "Your answers raise no red flags."
    )
    blocks: list[dict[str, Any]] = [
        section(f"*{organisation}'s view of {escape(invitation.name)}*\n{flagged}"),
        section(tip_status_lines(flow, assessment)),
        *flag_sections(flow, assessment),
        {
            "type": "actions",
            "block_id": "summary",
            "elements": [
                button("Send my view", ActionId.VIEW_SEND, value(), style="primary"),
                revise_select(flow, run, value),
                button("Discard", ActionId.DISCARD, value(), style="danger"),
            ],
        },
        context(
            f"Sending shares your answers with <@{invitation.proposer_id}> and adds them to "
            "the check's verdict, marked as your organisation's view."
        ),
    ]
    return Message(fallback(f"{invitation.organisation}'s view of {invitation.name}"), blocks)


def view_answers(organisation: str, flow: Flow, answers: dict[str, Any]) -> Message:
    """Every answer a partner gave, for the proposer: what their flags rest on, and what
    worries them."""
    blocks: list[dict[str, Any]] = [section(f"*{escape(organisation)}*'s answers, as sent:")]
    for question in flow.applicable(answers):
        if question.is_answered(answers):
            shown = escape(display_answer(question, question.value_in(answers)))
            blocks.append(section(f"*{escape(question.text)}*\n{clip(shown, 2500)}"))
    return Message(fallback(f"{organisation}'s answers"), blocks[:50])
