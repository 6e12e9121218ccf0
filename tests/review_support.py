"""Shared helpers for the review tests (`test_e2e_reminders.py`, `test_e2e_reviews.py`,
`test_reminders_cli.py`).

A clock the test moves (installed where the bot's services read the time), checks posted
(and re-checked) through the bot, reminders read as they arrived in Slack (the fake's call
log, so a reminder later edited or closed is still counted once), the review conversation
answered in a DM, volume set-up (and a partnership the previous release posted) straight
in the database, and `python app.py reminders run-due` run as an operator runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from bot.sandbox.fakeslack import Call, FakeSlack
from bot.storage.db import Database
from bot.storage.models import Conversation, Partnership, Reminder
from flows import FlowRun, display_answer
from tests.conftest import BOT_TOKEN, PARTNERS, TEAM_ID
from tests.e2e_support import Journey, escape, mrkdwn_texts, shown
from tests.proposer import FLOW, GOOD, REVIEW_FLOW, is_summary, question_in
from tests.slack_driver import SlackDriver

ROOT = Path(__file__).resolve().parents[1]
LONDON = "Europe/London"
NEW_YORK = "America/New_York"
REF = re.compile(r"\bP-\d+\b")

# A review that finds all well and continues.
REVIEW_OK: dict[str, Any] = {
    "value_for_cost": "benefit_outweighs",
    "time_and_money": "Two days a month of a manager's time; delays down by a quarter.",
    "separate_better": "no",
    "outcomes_progress": "on_track",
    "milestones_met": "yes",
    "progress_notes": "Delayed discharges down from 41 to 30 a week against the baseline.",
    "context_changes": ["none"],
    "frontline_still": "yes",
    "users_still": "yes",
    "decision": "continue",
    "decision_notes": "Worth it; keep going.",
}


# --- time ----------------------------------------------------------------------------------


def local(day: date, hour: int = 9, minute: int = 0, tz: str = LONDON) -> datetime:
    """`hour:minute` on `day` in `tz`, as the UTC-aware moment the scheduler works in."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Clock:
    """The bot's clock, moved by the test (the services take `clock` callables)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        assert moment.tzinfo is not None
        self.now = moment


def install_clock(services: Any, clock: Clock) -> Clock:
    """Make every service that reads the time read `clock` (posting, reviews, snoozes, passes)."""
    services.runs.clock = clock  # every step, post and review reads the date from here
    services.scheduler.clock = clock
    return clock


class Passes:
    """Scheduler passes at chosen moments, with the bot's clock moved there first."""

    def __init__(self, scheduler: Any, clock: Clock, fake: FakeSlack) -> None:
        self.scheduler, self.clock, self.fake = scheduler, clock, fake

    def at(self, moment: datetime) -> Any:
        self.clock.set(moment)
        return self.scheduler.run_due(moment)

    def sweep(
        self, start: datetime, end: datetime, step: timedelta = timedelta(hours=1)
    ) -> list[tuple[datetime, list[Call]]]:
        """A pass every `step` from `start` to `end` inclusive: (moment, reminders posted)."""
        posted: list[tuple[datetime, list[Call]]] = []
        moment = start
        while moment <= end:
            mark = len(self.fake.calls_to("chat.postMessage"))
            report = self.at(moment)
            new = reminder_posts(self.fake, after=mark)
            assert report.posted == sum(len(refs_of(c)) for c in new), (moment, report)
            if new:
                posted.append((moment, new))
            moment += step
        return posted

    def daily(
        self, first: date, last: date, hour: int = 9, minute: int = 0, tz: str = LONDON
    ) -> list[tuple[datetime, list[Call]]]:
        """A pass at `hour:minute` local time on every day from `first` to `last`."""
        posted: list[tuple[datetime, list[Call]]] = []
        day = first
        while day <= last:
            moment = local(day, hour, minute, tz)
            posted += self.sweep(moment, moment)
            day += timedelta(days=1)
        return posted


# --- checks posted through the bot -----------------------------------------------------------


# The group question each part belongs to ("review_cadence" -> "reviews"), so a test can
# change one part of a group by its own id.
GROUP_OF = {part.id: q.id for q in FLOW.questions if q.type == "group" for part in q.parts}


def proposal(first_review: date | None, **changes: Any) -> dict[str, Any]:
    """The GOOD proposal with its first review on `first_review` (None: the date the bot
    suggests is kept) and some answers changed; a part of a group is changed by its own
    id (`review_cadence="annual"`), keeping the group's other parts."""
    answers = {**GOOD}
    for key, value in changes.items():
        group = GROUP_OF.get(key)
        if group is None:
            answers[key] = value
        else:
            answers[group] = {**answers.get(group, {}), key: value}
    if first_review is None:
        answers.pop("first_review_date", None)
    else:
        answers["first_review_date"] = first_review.isoformat()
    return answers


SUGGESTED = re.compile(r"^Use (\d{1,2} \w+ \d{4})$")


def suggested_date(message: dict[str, Any]) -> str:
    """The date a first-review question suggests, as its button says it ("4 April 2029")."""
    labels = [
        found.group(1)
        for block in message["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == "answer_suggested"
        and (found := SUGGESTED.match(element["text"]["text"]))
    ]
    assert len(labels) == 1, f"no suggested date in {message['text']}"
    return labels[0]


def check_summary(
    slack: SlackDriver, fake: FakeSlack, user: str, answers: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """`user` runs a check with `answers`; (its summary, the first review date suggested
    when `answers` has none and the suggestion was kept, else None)."""
    person = Journey(slack, fake, user)
    if "first_review_date" in answers:
        return person.complete(answers), None
    question = person.run_to(answers, "first_review_date")
    suggested = suggested_date(question)
    seen = person.count()
    assert slack.press(user, question, action_id="answer_suggested").status == 200
    return person.go_on(person.wait_for_prompt(seen), answers), suggested


def post_check(
    slack: SlackDriver, fake: FakeSlack, user: str, answers: dict[str, Any]
) -> dict[str, Any]:
    """`user` runs a check and presses Post; the channel post, once its schedule is saved."""
    summary, _ = check_summary(slack, fake, user, answers)
    return post_summary(slack, fake, user, summary)


def post_summary(
    slack: SlackDriver, fake: FakeSlack, user: str, summary: dict[str, Any]
) -> dict[str, Any]:
    """`user` presses Post on `summary`; the channel post, once its schedule is saved."""
    before = fake.count_messages(PARTNERS)
    assert slack.press(user, summary, action_id="post").status == 200
    post = fake.wait_for(
        lambda: fake.messages(PARTNERS, after=before)[0],
        channel=PARTNERS,
        message="the posted check",
    )
    # The summary turns into "Posted to ..." after the post and its first review are saved.
    fake.wait_for(
        lambda: "Posted to" in fake.message(summary["channel"], summary["ts"])["text"],
        channel=summary["channel"],
        message=f"{user}'s summary closed as posted",
    )
    return fake.message(PARTNERS, post["ts"]) or post


def recheck(
    slack: SlackDriver, fake: FakeSlack, user: str, ref: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """`user` re-checks posted partnership `ref` with `/partnership recheck`, changing the
    answers of the questions in `changes` (by question id) with *Change an answer*, and
    posts the update; the recommendation as updated in place once its thread has the note."""
    person = Journey(slack, fake, user)
    seen = person.count()
    assert slack.command(user, f"recheck {ref}").status == 200
    summary = person.wait_for_prompt(seen)
    assert f"Re-check of {ref}" in shown(summary)
    for question_id, value in changes.items():
        seen = person.count()
        response = slack.select(user, summary, "revise", revise_value(summary, question_id))
        assert response.status == 200
        question = person.wait_for_prompt(seen)
        assert question_in(question) is not None and question_in(question).id == question_id
        summary = person.answer(question, value)
        assert is_summary(summary), "a changed answer goes back to the summary"
    post = next(m for m in fake.messages(PARTNERS) if m["text"].startswith(f"{ref} "))
    notes = len(re_checked_notes(fake, post, ref))
    assert slack.press(user, summary, action_id="post").status == 200
    fake.wait_for(
        lambda: len(re_checked_notes(fake, post, ref)) > notes,
        message=f"the re-check of {ref} noted in its thread",
    )
    updated = fake.message(PARTNERS, post["ts"])
    assert updated is not None
    return updated


def re_checked_notes(fake: FakeSlack, post: dict[str, Any], ref: str) -> list[str]:
    return [t for t in thread_texts(fake, post) if f"re-checked {ref}" in t]


def revise_value(summary: dict[str, Any], question_id: str) -> str:
    """The *Change an answer* option of `summary` for question `question_id`."""
    for block in summary["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "revise":
                for choice in element["options"]:
                    if choice["value"].endswith(f".{question_id}"):
                        return choice["value"]
    raise AssertionError(f"no 'Change an answer' option for {question_id}")


# --- reminders as they arrived in Slack -------------------------------------------------------


def is_reminder_text(text: str) -> bool:
    return text.startswith("Review due") or " partnership reviews are due: " in text


def reminder_posts(fake: FakeSlack, channel: str | None = None, after: int = 0) -> list[Call]:
    """Every reminder or digest Slack accepted (top level), in order, whatever it became
    (only among the chat.postMessage calls after the first `after`)."""
    return [
        c
        for c in fake.calls_to("chat.postMessage", after=after)
        if c.ok
        and not c.args.get("thread_ts")
        and is_reminder_text(str(c.args.get("text", "")))
        and (channel is None or c.response.get("channel") == channel)
    ]


def refs_of(call: Call) -> list[str]:
    """The partnership references a posted reminder (or digest) is about."""
    return REF.findall(str(call.args["text"]))


def arrivals(fake: FakeSlack, channel: str | None = None) -> dict[str, int]:
    """How many reminders arrived for each reference."""
    counts: dict[str, int] = {}
    for call in reminder_posts(fake, channel):
        for ref in refs_of(call):
            counts[ref] = counts.get(ref, 0) + 1
    return counts


def posted_message(fake: FakeSlack, call: Call) -> dict[str, Any]:
    """The message a call posted, as Slack shows it now."""
    found = fake.message(call.response["channel"], call.response["ts"])
    assert found is not None
    return found


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(action_id, value) of every button on `message`."""
    return [
        (e["action_id"], e.get("value", ""))
        for b in message.get("blocks", [])
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]


def mentions(message: dict[str, Any], user: str) -> bool:
    return f"<@{user}>" in shown(message)


def thread_texts(fake: FakeSlack, post: dict[str, Any]) -> list[str]:
    return [shown(m) for m in fake.messages(post["channel"], thread_ts=post["ts"])]


def review_results(fake: FakeSlack, post: dict[str, Any]) -> list[dict[str, Any]]:
    """The review results posted in the thread of the recommendation `post`."""
    thread = fake.messages(post["channel"], thread_ts=post["ts"])
    return [m for m in thread if m["text"].startswith("Review of ")]


# --- a review in the DM -------------------------------------------------------------------------


def review_answers(**changes: Any) -> dict[str, Any]:
    return {**REVIEW_OK, **changes}


def answer_review(
    slack: SlackDriver, fake: FakeSlack, user: str, answers: dict[str, Any], after: int
) -> dict[str, Any]:
    """Answer the review questions shown in `user`'s DM after mark `after`; the summary."""
    person = Journey(slack, fake, user)
    message = person.wait_for_prompt(after)
    for _ in range(30):
        if is_summary(message):
            return message
        question = question_in(message)
        assert question is not None, message["text"]
        message = person.answer(message, answers[question.id])
    raise AssertionError("the review never reached its summary")


def stored_review(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers a review stores when answered with `answers`, walked through the engine
    so only the questions actually asked count."""
    run = FlowRun(REVIEW_FLOW, today=date.today())
    for _ in range(len(REVIEW_FLOW.questions) + 1):
        question = run.current
        if question is None:
            break
        run.answer(answers[question.id])
    return run.answers


def expected_review_answers(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(question, answer) as a review's result must show them (escaped), for every question
    a review with `answers` asks but the decision (shown first, as its heading)."""
    stored = stored_review(answers)
    return [
        (escape(q.text), escape(display_answer(q, q.value_in(stored))))
        for q in REVIEW_FLOW.applicable(stored)
        if q.id != "decision"
    ]


REVIEW_TIPS = {tip.id: tip.title for tip in REVIEW_FLOW.tips}
REVIEW_RULES = {rule.id: rule for rule in REVIEW_FLOW.flags}
_FLAG_LINE = re.compile(r"^• :\w+: (Critical|Warning): (.+)$")


def review_flags(message: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Red flags shown in a review's summary or result: section title -> {(severity, reason)}."""
    titles = set(REVIEW_TIPS.values())
    flags: dict[str, set[tuple[str, str]]] = {}
    for shown_text in mrkdwn_texts(message["blocks"]):
        head, _, rest = shown_text.partition("\n")
        if not (head.startswith("*") and head.strip("*") in titles):
            continue
        for line in rest.splitlines():
            if found := _FLAG_LINE.match(line):
                flags.setdefault(head.strip("*"), set()).add(
                    (found.group(1).lower(), found.group(2))
                )
    return flags


def expected_review_flags(answers: dict[str, Any], *flag_ids: str) -> dict[str, set]:
    """Section title -> {(severity, reason)} for `flag_ids` raised by a review with
    `answers`: the words of the case the answers meet, or the flag's Not sure words."""
    stored = stored_review(answers)
    flags: dict[str, set[tuple[str, str]]] = {}
    for flag_id in flag_ids:
        rule = REVIEW_RULES[flag_id]
        truth, case = rule.judge(stored)
        assert truth is not False, f"{flag_id} is not raised by these answers"
        if case is not None:
            severity, reason = case.severity, case.wording.reason
        else:
            severity, reason = "warning", rule.unknown_wording(stored)[1].reason
        flags.setdefault(REVIEW_TIPS[rule.tip], set()).add((severity, escape(reason)))
    return flags


def review_by_command(
    slack: SlackDriver,
    fake: FakeSlack,
    user: str,
    answers: dict[str, Any] = REVIEW_OK,
    ref: str = "P-1",
) -> dict[str, Any]:
    """`user` starts a review of `ref` with `/partnership review` and answers it; the summary."""
    seen = Journey(slack, fake, user).count()
    assert slack.command(user, f"review {ref}").status == 200
    return answer_review(slack, fake, user, answers, seen)


def submit_review(
    slack: SlackDriver, fake: FakeSlack, user: str, summary: dict[str, Any], post: dict[str, Any]
) -> str:
    """Press Submit review; the result as shown in the recommendation's thread."""
    before = fake.count_messages(post["channel"], thread_ts=post["ts"])
    assert slack.press(user, summary, action_id="review_submit").status == 200
    result = fake.wait_for(
        lambda: fake.messages(post["channel"], thread_ts=post["ts"], after=before)[0],
        channel=post["channel"],
        message="the review result in the recommendation's thread",
    )
    # The DM summary closes once the review is recorded as posted.
    fake.wait_for(
        lambda: not buttons(fake.message(summary["channel"], summary["ts"]) or {}),
        message="the review summary closed",
    )
    return shown(result)


# --- volume in the database, and run-due as a process ---------------------------------------------


def seed_due_reminders(
    database_url: str,
    per_channel: dict[str, int],
    due_on: date,
    tz: str = LONDON,
    owner: str = "U0ALICE",
) -> dict[str, list[str]]:
    """Posted partnerships with a review due on `due_on`, `per_channel[c]` of them in `c`.

    Made with the bot's own models and `reminders.schedule_first`, as posting a check
    would (only the Slack post itself is skipped). Returns channel -> references.
    """
    from bot.core import reminders
    from bot.storage.store import next_reference

    db = Database(database_url)
    db.upgrade()
    made: dict[str, list[str]] = {}
    try:
        with db.session() as session:
            for channel, count in per_channel.items():
                for n in range(count):
                    name = f"Seeded partnership {channel} {n}"
                    conversation = Conversation(
                        team_id=TEAM_ID,
                        user_id=owner,
                        channel_id=f"D{owner}",
                        kind="check",
                        flow_id="check",
                        flow_version=str(FLOW.version),
                        status="finished",
                        state="done",
                        snapshot={"answers": {"name": name}},
                        draft={},
                    )
                    session.add(conversation)
                    session.flush()
                    partnership = Partnership(
                        team_id=TEAM_ID,
                        ref=next_reference(session, TEAM_ID),
                        conversation_id=conversation.id,
                        owner_id=owner,
                        name=name,
                        verdict="Proceed",
                        assessment={},
                        answers={"form": "mou", "review_cadence": "quarterly"}
                        | {"first_review_date": due_on.isoformat()},
                        post_state="posted",
                        channel_id=channel,
                        owner_tz=tz,
                        status="active",
                    )
                    session.add(partnership)
                    session.flush()
                    reminders.schedule_first(session, partnership, local(due_on, 8, tz=tz))
                    made.setdefault(channel, []).append(partnership.reference)
    finally:
        db.close()
    return made


# A check posted by the previous release (check definition version 1), as it stored it:
# its own question ids, a number of months to the full benefit, and no reviews planned.
V1_POSTED_ANSWERS: dict[str, Any] = {
    "name": "Falls prevention network",
    "lead_org": "Southshire Council",
    "partner_orgs": "Southshire NHS Trust",
    "partner_types": ["nhs", "social_care"],
    "problem": "Older people fall at home and wait hours for help.",
    "lighter_route": "no",
    "form": "informal",
    "costs_estimated": "yes",
    "partner_count": 2,
    "objectives": "Halve the wait for help after a fall",
    "user_outcomes": "yes",
    "measures_defined": "yes",
    "measures": "Minutes from call to help, from the ambulance service",
    "baseline": "yes",
    "evaluation": "funded",
    "first_result_months": 3,
    "system_level": "no",
    "full_benefit_months": 12,
    "resources": "money_and_staff",
    "milestones": "yes",
    "senior_commitment": "all",
    "review_cadence": "none",
    "exit_arrangements": "yes",
    "value_decider": "The falls steering group",
    "frontline": "yes",
    "users_involved": "yes",
    "users_how": "Two carers sit on the steering group",
    "coordinator": "yes",
}


def seed_v1_partnership(
    database_url: str, fake: FakeSlack, posted_at: datetime, owner: str = "U0ALICE"
) -> str:
    """A partnership the previous release posted at `posted_at`, with the reminder it
    scheduled then (`reminders.schedule_first` on its own answers) and its post in the
    channel; its reference."""
    from slack_sdk import WebClient

    from bot.core import reminders
    from bot.storage.store import next_reference

    name = V1_POSTED_ANSWERS["name"]
    db = Database(database_url)
    db.upgrade()
    try:
        with db.session() as session:
            ref = next_reference(session, TEAM_ID)
            posted = WebClient(token=BOT_TOKEN, base_url=fake.api_url).chat_postMessage(
                channel=PARTNERS, text=f"P-{ref} {name}: Proceed"
            )
            conversation = Conversation(
                team_id=TEAM_ID,
                user_id=owner,
                channel_id=f"D{owner}",
                kind="check",
                flow_id="check",
                flow_version="1",
                status="finished",
                state="done",
                snapshot={"answers": V1_POSTED_ANSWERS},
                draft={},
            )
            session.add(conversation)
            session.flush()
            partnership = Partnership(
                team_id=TEAM_ID,
                ref=ref,
                conversation_id=conversation.id,
                owner_id=owner,
                name=name,
                verdict="Proceed",
                assessment={"verdict": "Proceed", "tip_status": {}, "flags": []},
                answers=V1_POSTED_ANSWERS,
                post_state="posted",
                channel_id=posted["channel"],
                message_ts=posted["ts"],
                posted_at=posted_at,
                owner_tz=LONDON,
                status="active",
            )
            session.add(partnership)
            session.flush()
            reminders.schedule_first(session, partnership, posted_at)
            return partnership.reference
    finally:
        db.close()


def unlocked_due(database_url: str) -> int:
    """Pending reminder rows no transaction holds locked (Postgres SKIP LOCKED count)."""
    db = Database(database_url)
    try:
        with db.session() as session:
            ids = session.scalars(
                select(Reminder.id)
                .where(Reminder.state == "pending")
                .with_for_update(skip_locked=True)
            ).all()
            return len(ids)
    finally:
        db.close()


def pending_count(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.session() as session:
            return session.scalar(
                select(func.count()).select_from(Reminder).where(Reminder.state == "pending")
            )
    finally:
        db.close()


def backends_in_transaction(database_url: str) -> int:
    """Other Postgres sessions idle in a transaction (a killed scheduler's, until noticed)."""
    db = Database(database_url)
    try:
        with db.session() as session:
            return session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
                    "AND pid <> pg_backend_pid()"
                )
            )
    finally:
        db.close()


def cli_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    """The environment an operator gives `python app.py` (no Slack or database leftovers)."""
    names = ("SLACK_", "DATABASE_URL", "PARTNERSHIP_CHANNEL", "PORT", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    env.update(
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=database_url,
    )
    env.update(extra)
    return env


def run_due_args(as_of: datetime | str | None) -> list[str]:
    args = [sys.executable, str(ROOT / "app.py"), "reminders", "run-due"]
    if as_of is not None:
        args += ["--as-of", as_of if isinstance(as_of, str) else as_of.isoformat()]
    return args


def run_due(
    env: dict[str, str], as_of: datetime | str | None, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        run_due_args(as_of), env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def posted_count(output: str) -> int:
    found = re.search(r"Posted (\d+) reminder", output)
    assert found, f"no summary in {output!r}"
    return int(found.group(1))


def all_refs(plan: dict[str, list[str]]) -> Iterable[tuple[str, str]]:
    for channel, refs in plan.items():
        for ref in refs:
            yield channel, ref
