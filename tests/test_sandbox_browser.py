"""The sandbox as a person uses it, in a real headless Chromium (Debian's `chromium`,
driven by Playwright): a whole check by clicking and typing on the page, posted to the
channel with its thread, the clock jumped to the review reminder, and the review started
from the reminder by a colleague and submitted. A screenshot is left in the test's output.

The page is only read and clicked: which question is asked is read off the page, and the
answers are the tests' usual ones (tests/proposer.py, tests/review_support.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.run import Sandbox
from bot.sandbox.workspace import CHANNEL_ID, PEOPLE
from flows import Question
from tests.proposer import FLOW, GOOD, REVIEW_FLOW
from tests.review_support import REVIEW_OK
from tests.sandbox_support import sandbox_in

CHROMIUM = Path("/usr/bin/chromium")
# What works on a machine with no network and no display (see .ci/run).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)",
)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")

PROMPT = (
    '.message.from-bot:has([data-block-id="navigation"]), '
    '.message.from-bot:has([data-action-id="post"]), '
    '.message.from-bot:has([data-action-id="review_submit"])'
)
QUESTIONS = sorted((*FLOW.questions, *REVIEW_FLOW.questions), key=lambda q: -len(q.text))
ALEX, SAM = PEOPLE[0].id, PEOPLE[1].id


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox_in(tmp_path) as box:
        yield box


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests (starting one takes a second or two of CPU);
    each test still gets a page of its own in a fresh context (no shared cookies,
    storage or cache)."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(sandbox: Sandbox, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        failures: list[str] = []
        page.on("pageerror", lambda error: failures.append(str(error)))
        page.failures = failures  # for the message of a test that times out
        page.goto(sandbox.url)
        yield page
        assert not failures, f"the page's script failed: {failures}"
    finally:
        context.close()


def test_a_check_posted_then_reviewed_from_its_reminder(
    sandbox: Sandbox, page: Any, tmp_path: Path
) -> None:
    expect = sync_api.expect
    expect(page.locator(".banner")).to_contain_text("Sandbox")
    expect(page.locator(".banner")).to_contain_text("not Slack")

    # Alex types the slash command in the DM's message box and answers every question.
    type_in(page, "/partnership")
    expect(page.locator(".message.ephemeral")).to_contain_text("I've sent you a direct message")
    summary = answer_all(page, GOOD, sandbox.fake)
    expect(summary).to_contain_text("Verdict: Proceed")
    post = posted_in_channel(page, summary)

    # The recommendation is in the channel, every answer in its thread.
    expect(post).to_contain_text("Proceed")
    post.locator(".replies").click()
    expect(page.locator("#thread-messages")).to_contain_text(GOOD["problem"])

    # The clock jumps to the first review; the reminder comes to the channel.
    page.locator("#jump").click()
    expect(page.locator("#clock-note")).to_contain_text("1 reminder(s) posted")
    expect(page.locator("#moved")).to_be_visible()

    # Sam, a member of the channel, starts the review from the reminder and submits it.
    page.locator("#who").select_option(SAM)
    expect(page.locator("#title")).to_contain_text("Partnership Check")
    page.locator("#places button.channel").click()
    reminder = page.locator(".message.from-bot:has([data-action-id='review_start'])").last
    expect(reminder).to_contain_text(GOOD["name"])
    reminder_ts = reminder.get_attribute("data-ts")
    reminder.locator("[data-action-id='review_start']").click()
    # The bot updates the reminder in place: it now says who is on it.
    updated = page.locator(f'.message[data-ts="{reminder_ts}"]')
    expect(updated).to_contain_text("Sam Patel")
    expect(updated.locator(".note")).to_contain_text("(edited)")
    page.locator("#places button.dm").click()
    review = answer_all(page, REVIEW_OK, sandbox.fake)
    review.locator('[data-action-id="review_submit"]').click()

    # The review's result goes to the recommendation's thread.
    page.locator("#places button.channel").click()
    page.locator(".message.from-bot", has_text=GOOD["name"]).first.locator(".replies").click()
    expect(page.locator("#thread-messages")).to_contain_text(REVIEW_OK["decision_notes"])
    page.screenshot(path=str(tmp_path / "sandbox.png"))
    assert (tmp_path / "sandbox.png").stat().st_size > 10_000

    # The next reminder; ending the partnership asks first, and nothing happens on Cancel.
    page.locator("#jump").click()
    end = page.locator(".message.from-bot [data-action-id='review_end']")
    expect(end).to_have_count(1)
    end.click()
    expect(page.locator("#confirm")).to_be_visible()
    page.locator("#confirm-deny").click()
    expect(page.locator("#confirm")).to_be_hidden()
    expect(end).to_have_count(1)
    end.click()
    page.locator("#confirm-ok").click()
    expect(end).to_have_count(0)
    assert not sandbox.fake.errors, sandbox.fake.dump()


def test_a_condition_met_and_a_partner_invited_from_the_thread(sandbox: Sandbox, page: Any) -> None:
    """The thread's last message on the page: a condition's menu, and Invite partners with
    a person picker per organisation; the invited colleague gets the invitation."""
    expect = sync_api.expect
    type_in(page, "/partnership")
    summary = answer_all(page, {**GOOD, "costs": "neither"}, sandbox.fake)
    expect(summary).to_contain_text("Verdict: Proceed with conditions")
    post = posted_in_channel(page, summary)
    expect(post).to_contain_text("0 of 1 met")
    post.locator(".replies").click()
    follow_up = page.locator("#thread-messages .message", has_text="Conditions of P-1")
    follow_up.locator('[data-action-id="condition"]').select_option(label="Mark as met")
    expect(post).to_contain_text("1 of 1 met")
    expect(follow_up).to_contain_text("Met by")

    follow_up.locator('[data-action-id="invite_partners"]').click()
    page.locator("#places button.dm").click()
    picker = page.locator("#messages .message.from-bot", has_text="Pick one person")
    picker.locator('[data-action-id="invite_pick"]').nth(1).select_option(SAM)
    expect(picker).to_contain_text("asked, not answered yet")

    page.locator("#who").select_option(SAM)
    page.locator("#places button.dm").click()
    invitation = page.locator("#messages .message.from-bot", has_text="asks you to give")
    expect(invitation).to_contain_text("Northshire County Council")
    invitation.locator('[data-action-id="view_start"]').click()
    expect(page.locator("#messages .message.from-bot").last).to_contain_text("less formal")
    assert not sandbox.fake.errors, sandbox.fake.dump()


def test_malformed_block_kit_is_refused_in_red_on_the_page(sandbox: Sandbox, page: Any) -> None:
    """What Slack would refuse is refused, and shown: a bot with a bad message is seen."""
    client = WebClient(token=sandbox.settings.bot_token, base_url=sandbox.fake.api_url)
    button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}
    with pytest.raises(SlackApiError):
        client.chat_postMessage(
            channel=CHANNEL_ID, text="fallback", blocks=[{"type": "actions", "elements": [button]}]
        )
    problems = page.locator("#problems")
    sync_api.expect(problems).to_contain_text("Slack refused these calls from the bot")
    sync_api.expect(problems).to_contain_text("chat.postMessage: invalid_blocks")
    sync_api.expect(problems).to_contain_text("must be less than 76 characters")


# --- a person on the page -------------------------------------------------------------


def test_the_message_box_opens_once_the_page_knows_who_is_typing(
    sandbox: Sandbox, browser: Any
) -> None:
    """Until the page has first heard from the sandbox, an Enter or a click would do
    nothing: the box and the clock's button stay closed, the page says the sandbox is not
    answering, and it keeps asking."""
    expect = sync_api.expect
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route("**/state*", lambda route: route.abort())
        page.goto(sandbox.url)
        expect(page.locator("#problems")).to_contain_text("The sandbox is not answering")
        expect(page.locator("#box")).to_be_disabled()
        expect(page.locator("#jump")).to_be_disabled()
        page.unroute("**/state*")
        expect(page.locator("#box")).to_be_enabled()
        expect(page.locator("#jump")).to_be_enabled()
        expect(page.locator("#problems")).to_be_empty()
        type_in(page, "/partnership")
        expect(page.locator(".message.ephemeral")).to_contain_text("I've sent you a direct message")
    finally:
        context.close()


def type_in(page: Any, text: str) -> None:
    """Type in the conversation's message box and press Enter, as in Slack."""
    page.locator("#box").fill(text)
    page.locator("#box").press("Enter")


def answer_all(page: Any, answers: dict[str, Any], fake: FakeSlack) -> Any:
    """Answer each question the page shows until a summary is shown; return it. (`fake`
    only says, on a failure, what the workspace held.)"""
    for _ in range(len(FLOW.questions) + 2):
        prompt = latest_prompt(page)
        if prompt.locator('[data-action-id="post"], [data-action-id="review_submit"]').count():
            return prompt
        question = asked(prompt.inner_text())
        try:
            next_prompt(page, answer(page, prompt, question, answers[question.id]))
        except sync_api.TimeoutError:
            shown = page.evaluate(
                "[[...document.querySelectorAll('#messages .message')].map((m) => m.dataset.ts),"
                " (page.data || {messages: []}).messages.map((m) => m.ts), page.problem]"
            )
            raise AssertionError(
                f"nothing came after {question.id}; the page shows, holds and says {shown}"
                f" and failed with {getattr(page, 'failures', None)}\n{fake.dump()}"
            ) from None
    raise AssertionError("the page never showed a summary")


def posted_in_channel(page: Any, summary: Any) -> Any:
    """Press Post on `summary`, see it confirmed, and go to the channel: the post there."""
    summary.locator('[data-action-id="post"]').click()
    sync_api.expect(page.locator(".message.from-bot").last).to_contain_text("Posted to")
    page.locator("#places button.channel").click()
    return page.locator(".message.from-bot", has_text=GOOD["name"]).first


def latest_prompt(page: Any) -> Any:
    """The newest question or summary, pinned by its ts (a plain `.last` would move on to
    the next question as soon as the page shows it)."""
    newest = page.locator(PROMPT).last
    newest.wait_for()
    return page.locator(f'.message[data-ts="{newest.get_attribute("data-ts")}"]').first


def asked(text: str) -> Question:
    found = next((q for q in QUESTIONS if q.text in text), None)
    assert found is not None, f"no question on the page: {text}"
    return found


def next_prompt(page: Any, shown: str) -> None:
    page.wait_for_function(
        "([selector, shown]) => {"
        "  const all = document.querySelectorAll(selector);"
        "  return all.length && all[all.length - 1].dataset.ts !== shown;"
        "}",
        arg=[PROMPT, shown],
    )


def answer(page: Any, prompt: Any, question: Question, value: Any) -> str:
    """As a person would: a button, a menu, ticks or radio buttons and Continue, a date, or
    a typed reply (each item of a list its own message, then Done). Returns the ts of the
    prompt answered last, after which the next question comes."""
    if question.type == "choice" and prompt.locator("select").count():
        label = next(o.label for o in question.options if o.value == value)
        prompt.locator("select").select_option(label=label)
    elif question.type == "choice":
        label = next(o.label for o in question.options if o.value == value)
        prompt.get_by_role("button", name=label, exact=True).click()
    elif question.type == "multi_choice":
        if prompt.locator("select").count():
            prompt.locator("select").select_option(list(value))
        else:
            for ticked in value:
                prompt.locator(f'input[value="{ticked}"]').check()
        prompt.locator('[data-action-id="choices_done"]').click()
    elif question.type == "group":
        for part, chosen in dict(value).items():
            prompt.locator(f'[data-block-id="part:{part}"] input[value="{chosen}"]').check()
        prompt.locator('[data-action-id="parts_done"]').click()
    elif question.type == "list" and isinstance(value, list):
        for item in value[:-1]:  # each item its own message; the question comes back
            type_in(page, item)
            next_prompt(page, ts(prompt))
            prompt = latest_prompt(page)
        type_in(page, value[-1])
        if len(value) < (question.max or 3):  # at its most items it moves on by itself
            next_prompt(page, ts(prompt))
            prompt = latest_prompt(page)
            prompt.locator('[data-action-id="list_done"]').click()
    elif question.type == "date":
        prompt.locator('input[type="date"]').fill(str(value))
    else:
        type_in(page, str(value))
    return ts(prompt)


def ts(prompt: Any) -> str:
    return str(prompt.get_attribute("data-ts"))
