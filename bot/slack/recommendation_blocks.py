"""Block Kit for a check's result: the summary in the DM, the recommendation in the
channel, and every answer in its thread.

The channel post is what a board reads to decide, so it says what is proposed, the
verdict with its counts, each tip's status in words, the conditions, who proposed it,
its reference and when it is next reviewed, without opening the thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.core.conditions import DROPPED, MET, OPEN
from bot.core.notifier import ConditionLine, Recommendation, Standing
from bot.core.plans import GOES_AHEAD, ReviewPlan, name_of
from bot.slack.blocks import (
    ActionId,
    Message,
    action_value,
    button,
    context,
    fallback,
    option,
    revise_select,
    section,
    tip_title,
)
from bot.slack.mrkdwn import HEADER_TEXT, SECTION_TEXT, clip, escape
from flows import Assessment, Flow, FlowRun, RaisedFlag, display_answer
from flows.answers import format_date

STATUS_EMOJI = {
    "green": ":large_green_circle:",
    "amber": ":large_orange_circle:",
    "red": ":red_circle:",
    "verdict": ":large_blue_circle:",
}
STATUS_WORD = {
    "green": "no flags",
    "amber": "warnings",
    "red": "critical",
    "verdict": "sets the verdict",
}
SEVERITY_EMOJI = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "verdict": ":large_blue_circle:",
}
SEVERITY_WORD = {"critical": "Critical", "warning": "Warning", "verdict": "Sets the verdict"}
# Conditions shown in the channel post itself; beyond this, the critical ones and a count.
MAX_POSTED_CONDITIONS = 8


def plan_sentence(plan: ReviewPlan, verdict: str | None, reference: str | None = None) -> str:
    """When the partnership is reviewed, or why it is not, in a sentence."""
    if verdict not in GOES_AHEAD:
        again = f" `/partnership recheck {reference}`" if reference else " a re-check"
        return (
            "No reviews: they start only for a partnership that goes ahead. When things "
            f"change, change the answers with{again}."
        )
    if plan.next_on is None:
        return "No more reviews are scheduled."
    often = {
        "quarterly": ", then quarterly",
        "six_monthly": ", then every six months",
        "annual": ", then yearly",
        "end_of_project": " (once, at the end of the project)",
    }.get(plan.cadence or "", "")
    return f"Next review: {format_date(plan.next_on)}{often}."


# --- pieces shared by the summary and the post ---------------------------------------


def invite_button(check_id: int) -> dict[str, Any]:
    return button("Invite partners", ActionId.INVITE, str(check_id))


def standing_line(standing: Standing, *, bold: bool = True) -> str:
    """ "Partners' views: 2 of 3 have answered (City Trust, County Council); waiting for
    Age UK." The label in bold unless the line goes inside a sentence."""
    invited = len(standing.answered) + len(standing.waiting)
    if not invited:
        return ""
    have = "has" if len(standing.answered) == 1 else "have"
    label = "*Partners' views:*" if bold else "Partners' views:"
    line = f"{label} {len(standing.answered)} of {invited} {have} answered"
    if standing.answered:
        line += f" ({escape(', '.join(standing.answered))})"
    if standing.waiting:
        line += f"; waiting for {escape(', '.join(standing.waiting))}"
    return line + "."


def counts(assessment: Assessment) -> str:
    """ "1 critical flag and 3 warnings", or "No red flags"."""
    parts = []
    if assessment.criticals:
        parts.append(_plural(assessment.criticals, "critical flag"))
    if assessment.warnings:
        parts.append(_plural(assessment.warnings, "warning"))
    return " and ".join(parts) if parts else "No red flags"


def verdict_next_step(assessment: Assessment) -> str:
    """What the verdict means the person should do now."""
    return {
        "Use a less formal route": "Use the less formal route first; a partnership costs "
        "time to agree, run and administer.",
        "Reconsider": "Fix the critical flags before going further, then check it again.",
        "Proceed with conditions": "Go ahead once each condition below is met.",
        "Proceed": "Go ahead, and keep reviewing its value as you go.",
    }.get(assessment.verdict or "", "")


def too_early_lines(assessment: Assessment, limit: int = 10) -> str:
    """The too-early note: first in the summary and the post when many answers are unknown."""
    find_out = [flag.condition for flag in assessment.to_find_out]
    lines = [
        f":hourglass_flowing_sand: *Too early to judge:* {assessment.not_sure} answers are "
        "Not sure. Find out first:"
    ]
    lines += [f"• {escape(condition)}" for condition in find_out[:limit]]
    if len(find_out) > limit:
        lines.append(f"• and {len(find_out) - limit} more, with the conditions")
    return "\n".join(lines)


def tip_status_lines(flow: Flow, assessment: Assessment) -> str:
    return "\n".join(
        f"{STATUS_EMOJI[status]} {escape(tip_title(flow, tip))}: {STATUS_WORD[status]}"
        for tip, status in assessment.tip_status.items()
    )


def flag_sections(flow: Flow, assessment: Assessment) -> list[dict[str, Any]]:
    """One section per tip that has flags: each flag's severity, reason and condition."""
    sections = []
    for tip in flow.tips:
        flags = [flag for flag in assessment.flags if flag.tip == tip.id]
        if flags:
            lines = [_flag_line(flag) for flag in flags]
            sections.append(section(f"*{escape(tip.title)}*\n" + "\n".join(lines)))
    return sections


def _flag_line(flag: RaisedFlag) -> str:
    return (
        f"• {SEVERITY_EMOJI[flag.severity]} {SEVERITY_WORD[flag.severity]}: "
        f"{whose(flag.view)}{escape(flag.reason)}\n    _Condition:_ {escape(flag.condition)}"
    )


def whose(view: str | None) -> str:
    """ "*County Council:* " before a partner's flag or condition; nothing before the
    proposer's."""
    return f"*{escape(view)}:* " if view else ""


PROPOSAL = {
    "organisations": "Who",
    "form": "Form",
    "less_formal_route": "Less formal route",
    "problem": "Problem",
}


def proposal_lines(flow: Flow, answers: dict[str, Any]) -> str:
    """What is proposed, in a few lines: organisations (lead first), form, the problem."""
    lines = []
    for role, label in PROPOSAL.items():
        question, value = flow.role_question(role), flow.answer_for(role, answers)
        if question is not None and value is not None:
            shown = clip(escape(display_answer(question, value)), 400)
            lines.append(f"*{label}:* {shown}")
    return "\n".join(lines)


# --- the summary in the DM -------------------------------------------------------------


def summary_message(
    flow: Flow,
    run: FlowRun,
    assessment: Assessment,
    conversation_id: int,
    version: int,
    channel: str | None,
    reviews: ReviewPlan,
    update_of: str | None,
    check_id: int,
    standing: Standing,
) -> Message:
    """Verdict, what is proposed, per-tip status, flags with conditions (partners' views
    among them), when it is reviewed; Post, Change an answer, Discard, Invite partners.

    `update_of` is the reference of the partnership this re-checks: its update goes to
    that recommendation, so there is no channel to pick.
    """
    name = name_of(flow, run.answers)
    title = f"Re-check of {update_of}: {name}" if update_of else f"Check: {name}"
    value = lambda payload="": action_value(conversation_id, version, payload)  # noqa: E731
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT)}}
    ]
    if assessment.too_early:
        blocks.append(section(too_early_lines(assessment)))
    blocks += [
        section(
            f"*Verdict: {assessment.verdict}*\n{counts(assessment)}. "
            f"{verdict_next_step(assessment)}"
        ),
        section(proposal_lines(flow, run.answers) or "_No details given._"),
        section(tip_status_lines(flow, assessment)),
        *flag_sections(flow, assessment),
        context(escape(plan_sentence(reviews, assessment.verdict, update_of))),
    ]
    if standing_line(standing):
        blocks.append(section(standing_line(standing)))
    if update_of:
        blocks.append(section(f"Posting updates {update_of} and adds the change to its thread."))
    else:
        blocks.append(_channel_picker(channel))
    revise = revise_select(flow, run, value)
    discard = button("Discard", ActionId.DISCARD, value(), style="danger")
    discard["confirm"] = {
        "title": {"type": "plain_text", "text": "Discard this check?"},
        "text": {"type": "plain_text", "text": "Your answers will be deleted from the summary."},
        "confirm": {"type": "plain_text", "text": "Discard"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    post = button(
        "Post the update" if update_of else "Post", ActionId.POST, value(), style="primary"
    )
    elements = [post, revise, discard]
    if check_id:
        elements.append(invite_button(check_id))
    blocks.append({"type": "actions", "block_id": "summary", "elements": elements})
    return Message(fallback(f"Check: {name}. Verdict: {assessment.verdict}"), blocks)


def _channel_picker(channel: str | None) -> dict[str, Any]:
    picker: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": ActionId.PICK_CHANNEL,
        "placeholder": {"type": "plain_text", "text": "Choose a channel"},
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    where = "Post to"
    if channel and channel[0] in "CG":
        picker["initial_conversation"] = channel
        where = f"Post to <#{channel}>"
    elif channel and channel.startswith("#"):
        where = f"Post to {escape(channel)}"
    return section(f"{where} (or pick another channel):", accessory=picker)


# --- the channel ------------------------------------------------------------------------


def channel_post(
    flow: Flow,
    reference: str,
    answers: dict[str, Any],
    owner_id: str,
    assessment: Assessment,
    reviews: ReviewPlan,
    standing: Standing,
    followed: Sequence[ConditionLine] = (),
) -> Message:
    """The recommendation in the channel: enough to decide on without the thread."""
    name = name_of(flow, answers)
    top = [f"*{reference} · {escape(name)}*"]
    if assessment.too_early:
        top.append(too_early_lines(assessment))
    top.append(f"*Verdict: {assessment.verdict}* · {counts(assessment)}")
    blocks: list[dict[str, Any]] = [
        section("\n".join(top)),
        section(proposal_lines(flow, answers) or "_No details given._"),
        context(
            "   ".join(
                f"{STATUS_EMOJI[s]} {escape(tip_title(flow, t))}: {STATUS_WORD[s]}"
                for t, s in assessment.tip_status.items()
            )
        ),
    ]
    conditions = posted_conditions(flow, assessment, followed)
    if conditions:
        blocks.append(section(conditions))
    if standing_line(standing):
        blocks.append(context(standing_line(standing)))
    blocks.append(
        context(
            f"Proposed by <@{owner_id}> · {reference} · "
            f"{escape(plan_sentence(reviews, assessment.verdict, reference))} "
            "Every answer is in the thread."
        )
    )
    text = f"{reference} {name}: {assessment.verdict} ({counts(assessment).lower()})"
    return Message(fallback(text), blocks)


def posted_conditions(
    flow: Flow, assessment: Assessment, conditions: Sequence[ConditionLine] = ()
) -> str:
    """The conditions under their tips, each marked met or dropped once it is: all of them
    when they fit, else the critical ones and a count of the rest (which the thread
    lists). Before the conditions are recorded, every flag is an open condition."""
    flags = assessment.flags
    status = {line.key: line.status for line in conditions}
    shown = flags
    if len(flags) > MAX_POSTED_CONDITIONS:
        shown = [flag for flag in flags if flag.severity == "critical"][:MAX_POSTED_CONDITIONS]
    if assessment.verdict == "Use a less formal route":
        lines = ["*Next step*"]
    else:
        lines = [f"*Conditions* · {met_count(assessment, conditions)}"]
    for tip in flow.assessed_tips:
        in_tip = [flag for flag in shown if flag.tip == tip.id]
        if in_tip:
            lines.append(f"*{escape(tip.title)}*")
            lines += [_posted_condition(flag, status.get(flag.key, OPEN)) for flag in in_tip]
    hidden = len(flags) - len(shown)
    if hidden:
        lines.append(f"… and {_plural(hidden, 'more condition')} in the thread.")
    text = "\n".join(lines)
    if len(text) > SECTION_TEXT - 100:  # long reasons: keep the conditions, drop the why
        text = "\n".join(line.split(" _(")[0] for line in lines)
    return text if flags else ""


def _posted_condition(flag: RaisedFlag, status: str) -> str:
    condition = f"{whose(flag.view)}{escape(flag.condition)}"
    if status == MET:
        return f"• :white_check_mark: ~{condition}~ _(met)_"
    if status == DROPPED:
        return f"• :heavy_multiplication_x: ~{condition}~ _(dropped)_"
    return f"• {SEVERITY_EMOJI[flag.severity]} {condition} _({escape(flag.reason)})_"


def met_count(assessment: Assessment, conditions: Sequence[ConditionLine]) -> str:
    """ "3 of 5 met" (dropped ones left out, and said), over the recorded conditions or,
    before they are recorded, the flags."""
    if not conditions:
        return f"0 of {sum(1 for f in assessment.flags if f.severity != 'verdict')} met"
    kept = [line for line in conditions if line.status != DROPPED]
    met = sum(1 for line in kept if line.status == MET)
    dropped = len(conditions) - len(kept)
    return f"{met} of {len(kept)} met" + (f", {dropped} dropped" if dropped else "")


MAX_FOLLOWED = 40  # conditions listed with their controls, within 50 blocks a message


def follow_up_message(post: Recommendation) -> Message:
    """The last reply in a recommendation's thread: its conditions, each with a menu (met,
    drop with a reason, give to someone else), and its partners' views with the
    proposer's Invite partners button. Redrawn in place as they change."""
    blocks: list[dict[str, Any]] = []
    followed = list(post.conditions)
    if followed or post.assessment.flags:
        blocks.append(
            section(f"*Conditions of {post.reference}* · {met_count(post.assessment, followed)}")
        )
    for line in followed[:MAX_FOLLOWED]:
        blocks.append(_followed(line))
    if len(followed) > MAX_FOLLOWED:
        blocks.append(context(f"… and {len(followed) - MAX_FOLLOWED} more."))
    if followed:
        blocks.append(
            context(
                "Its owner or anyone in this channel can mark a condition met, drop it with a "
                "reason, or give it to someone else."
            )
        )
    partners = standing_line(post.standing) or (
        "*Partners' views.* Each partner organisation can give its own view: the proposer "
        "picks one person for each, and the verdict above follows their answers."
    )
    blocks += [
        section(partners),
        {"type": "actions", "block_id": "invite", "elements": [invite_button(post.check_id)]},
    ]
    return Message("Conditions and partners' views", blocks)


def _followed(line: ConditionLine) -> dict[str, Any]:
    text = f"{whose(line.view)}{escape(line.text)}"
    if line.status == OPEN:
        block = section(
            f"{SEVERITY_EMOJI.get(line.severity, '')} {text}\n_Open_ · owner <@{line.owner_id}>",
            block_id=f"condition:{line.id}",
        )
        block["accessory"] = {
            "type": "overflow",
            "action_id": ActionId.CONDITION,
            "options": [
                option("Mark as met", f"met:{line.id}"),
                option("Drop it, saying why", f"drop:{line.id}"),
                option("Give to someone else", f"give:{line.id}"),
            ],
        }
        return block
    by = f" by <@{line.changed_by}>" if line.changed_by else ""
    if line.status == MET:
        note = f"_Met{by}_" + (f": {escape(line.note)}" if line.note else "")
        return section(f":white_check_mark: ~{text}~\n{note}", block_id=f"condition:{line.id}")
    why = f": {escape(line.note)}" if line.note else ""
    return section(
        f":heavy_multiplication_x: ~{text}~\n_Dropped{by}_{why}", block_id=f"condition:{line.id}"
    )


def thread_details(flow: Flow, answers: dict[str, Any], assessment: Assessment) -> list[Message]:
    """Every answer given, tip by tip, then every flag with its condition: thread replies."""
    answer_blocks: list[dict[str, Any]] = []
    for tip in flow.tips:
        asked = [q for q in flow.applicable(answers) if q.tip == tip.id and q.is_answered(answers)]
        if not asked:
            continue
        answer_blocks.append(
            {"type": "header", "text": {"type": "plain_text", "text": clip(tip.title, HEADER_TEXT)}}
        )
        for q in asked:
            shown = display_answer(q, q.value_in(answers))
            text = clip(escape(shown), SECTION_TEXT - 600)
            answer_blocks.append(section(f"*{clip(escape(q.text), 500)}*\n{text}"))
    messages = [Message("Answers given in the check", chunk) for chunk in _chunks(answer_blocks)]
    conditions = flag_sections(flow, assessment)
    if conditions:
        messages.append(
            Message(
                "Red flags and conditions", [section("*Red flags and conditions*"), *conditions]
            )
        )
    return messages


def _chunks(items: Sequence[dict[str, Any]], size: int = 50) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
