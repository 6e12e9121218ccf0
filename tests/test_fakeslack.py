"""The fake Slack is as strict as Slack: every rejection the bot's tests rely on fires.

If the fake let something through that Slack refuses, the bot's tests would pass and
production would fail; so each rule is shown to reject, through slack_sdk's real client.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.sandbox.fakeslack import SERVED, FakeSlack

ROOT = Path(__file__).resolve().parents[1]

# slack_sdk warns (rightly) when a test deliberately leaves out the text fallback.
NO_FALLBACK_WARNING = "ignore:The top-level `text` argument is missing:UserWarning"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "A partnership"}}


def button(text: str = "Go", action_id: str = "go", **extra: Any) -> dict[str, Any]:
    plain = {"type": "plain_text", "text": text}
    return {"type": "button", "text": plain, "action_id": action_id, **extra}


def actions(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)} | extra


def select(*options: tuple[str, str], action_id: str = "pick") -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": "Choose"},
        "options": [{"text": {"type": "plain_text", "text": t}, "value": v} for t, v in options],
    }


def radios(*options: tuple[str, str], action_id: str = "part") -> dict[str, Any]:
    """Radio buttons, as a group question shows one set per part."""
    return {
        "type": "radio_buttons",
        "action_id": action_id,
        "options": [{"text": {"type": "plain_text", "text": t}, "value": v} for t, v in options],
    }


@pytest.fixture
def client(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake_slack.api_url)


def error_of(call: Any) -> str:
    """The Slack error code `call()` fails with (fails the test if it succeeds)."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


# ---- auth and methods -----------------------------------------------------------------


def test_auth_test_answers_as_bolt_needs(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (
        "U0BOT",
        "B0BOT",
        "T000TEST",
    )


def test_wrong_or_missing_token_is_refused(fake_slack: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=fake_slack.api_url)
    assert (
        error_of(lambda: wrong.chat_postMessage(channel="C0PARTNERS", text="hi")) == "invalid_auth"
    )
    anonymous = WebClient(base_url=fake_slack.api_url)
    assert error_of(anonymous.auth_test) == "not_authed"
    assert fake_slack.messages("C0PARTNERS") == []


def test_unknown_method_is_refused(client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.postMessageV2")) == "unknown_method"


def test_the_fake_serves_exactly_the_methods_the_bot_calls() -> None:
    """Every Web API method the bot's code calls (through slack_sdk's WebClient), plus
    Bolt's auth.test at start and Socket Mode's apps.connections.open: no fewer, or the
    bot's tests fail for want of a method, and no more, or the fake grows code that no
    test of the bot runs."""
    sources = [*(ROOT / "bot").rglob("*.py"), ROOT / "app.py"]
    called = {
        name for path in sources for name in re.findall(r"\bclient\.(\w+)\(", path.read_text())
    }
    methods = set()
    for name in called:
        source = inspect.getsource(getattr(WebClient, name))
        (method,) = set(re.findall(r'api_call\(\s*"([\w.]+)"', source))
        methods.add(method)
    assert "chat.postMessage" in methods and "views.publish" in methods, "the search works"
    assert methods | {"auth.test", "apps.connections.open"} == SERVED


def test_a_response_url_is_refused_and_counted_as_a_mistake(fake_slack: FakeSlack) -> None:
    """The bot answers nothing through a response_url; if it starts to, its tests fail."""
    request = urllib.request.Request(
        fake_slack.new_response_url(),
        data=json.dumps({"text": "hi"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 404
    refused.value.close()
    assert [call.status for call in fake_slack.errors] == [404]


def test_form_encoded_query_string_and_json_arguments_are_all_read(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    client.api_call("chat.postMessage", params={"channel": "C0PARTNERS", "text": "form"})
    client.api_call("chat.postMessage", json={"channel": "C0PARTNERS", "text": "json"})
    query = f"{fake_slack.api_url}chat.postMessage?channel=C0PARTNERS&text=query"
    request = urllib.request.Request(query, headers={"Authorization": "Bearer xoxb-test"})
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer)["ok"] is True
    texts = [m["text"] for m in fake_slack.messages("C0PARTNERS")]
    assert texts == ["form", "json", "query"]


# ---- channels -----------------------------------------------------------------------------


def test_posting_resolves_names_and_refuses_unknown_channels(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    assert client.chat_postMessage(channel="#partnerships", text="hi")["channel"] == "C0PARTNERS"
    assert client.chat_postMessage(channel="partnerships", text="hi")["channel"] == "C0PARTNERS"
    for unknown in ("C0MISSING", "#missing", ""):
        assert error_of(lambda u=unknown: client.chat_postMessage(channel=u, text="x")) == (
            "channel_not_found"
        )
    assert len(fake_slack.messages("C0PARTNERS")) == 2


def test_posting_where_the_bot_is_not_a_member_is_refused(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    assert (
        error_of(lambda: client.chat_postMessage(channel="C0NOBOT", text="x")) == "not_in_channel"
    )
    assert error_of(lambda: client.chat_postMessage(channel="#elsewhere", text="x")) == (
        "not_in_channel"
    )
    assert fake_slack.messages("C0NOBOT") == []


def test_dm_channels_are_stable_and_reachable_by_user_id(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    opened = client.conversations_open(users="U0ALICE")["channel"]["id"]
    assert opened == fake_slack.dm_channel("U0ALICE") == "DU0ALICE"
    assert client.conversations_open(users="U0ALICE")["already_open"] is True
    assert client.chat_postMessage(channel="U0ALICE", text="hello")["channel"] == opened
    assert [m["text"] for m in fake_slack.messages(opened)] == ["hello"]
    assert error_of(lambda: client.conversations_open(users="U0NOBODY")) == "user_not_found"


def test_conversations_list_paginates_and_reports_membership(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    fake_slack.add_channel("C0THIRD", "third")
    # slack_sdk's pager yields one response object, updated per page: copy each page.
    pages = [dict(page.data) for page in client.conversations_list(limit=2)]
    assert [len(p["channels"]) for p in pages] == [2, 1]
    channels = {c["id"]: c for page in pages for c in page["channels"]}
    assert channels["C0PARTNERS"]["is_member"] and not channels["C0NOBOT"]["is_member"]
    assert channels["C0NOBOT"]["name"] == "elsewhere"


def test_users_info_gives_time_zones(client: WebClient) -> None:
    bob = client.users_info(user="U0BOB")["user"]
    assert bob["tz"] == "America/New_York" and bob["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert bob["real_name"] == "Bob Example"
    assert error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"


# ---- message content ------------------------------------------------------------------------


@pytest.mark.filterwarnings(NO_FALLBACK_WARNING)
def test_blocks_need_a_text_fallback_and_messages_need_content(client: WebClient) -> None:
    post = client.chat_postMessage
    assert error_of(lambda: post(channel="C0PARTNERS", blocks=[SECTION])) == "missing_text_fallback"
    assert error_of(lambda: post(channel="C0PARTNERS", blocks=[SECTION], text=" ")) == (
        "missing_text_fallback"
    )
    assert error_of(lambda: post(channel="C0PARTNERS")) == "no_text"
    assert error_of(lambda: post(channel="C0PARTNERS", text="x" * 40_001)) == "msg_too_long"


INVALID_BLOCKS = {
    "not a dict": ["a section"],
    "unknown block type": [{"type": "sektion", "text": {"type": "mrkdwn", "text": "x"}}],
    "no type": [{"text": {"type": "mrkdwn", "text": "x"}}],
    "51 blocks": [{"type": "divider"}] * 51,
    "section text 3001": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    "section text not an object": [{"type": "section", "text": "plain string"}],
    "empty section text": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
    "field 2001": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}],
    "header 151": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    "header mrkdwn": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}],
    "button text 76": [actions(button("x" * 76))],
    "button text mrkdwn": [actions(button() | {"text": {"type": "mrkdwn", "text": "Go"}})],
    "button value 2001": [actions(button(value="v" * 2001))],
    "action_id 256": [actions(button(action_id="a" * 256))],
    "block_id 256": [{"type": "divider", "block_id": "b" * 256}],
    "duplicate block_id": [
        {"type": "divider", "block_id": "b"},
        {"type": "divider", "block_id": "b"},
    ],
    "duplicate action_id": [actions(button("One"), button("Two"))],
    "unknown element": [actions({"type": "buton", "text": {"type": "plain_text", "text": "x"}})],
    "empty actions": [actions()],
    "option text 76": [actions(select(("x" * 76, "v")))],
    "option value 151": [actions(select(("Text", "v" * 151)))],
    "initial option not offered": [
        actions(select(("A", "a")) | {"initial_option": select(("B", "b"))["options"][0]})
    ],
    "radio buttons 11 options": [actions(radios(*[(f"Option {n}", str(n)) for n in range(11)]))],
    "radio initial option not offered": [
        actions(radios(("Yes", "yes")) | {"initial_option": radios(("No", "no"))["options"][0]})
    ],
    "datepicker initial date not a date": [
        actions({"type": "datepicker", "action_id": "when", "initial_date": "1 March 2027"})
    ],
    "unknown property": [SECTION | {"colour": "red"}],
    "context with 11 elements": [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}
    ],
}


@pytest.mark.parametrize("blocks", INVALID_BLOCKS.values(), ids=INVALID_BLOCKS.keys())
def test_malformed_block_kit_is_refused_with_slacks_messages(
    fake_slack: FakeSlack, client: WebClient, blocks: list[Any]
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0PARTNERS", text="fallback", blocks=blocks)
    assert raised.value.response["error"] == "invalid_blocks"
    messages = raised.value.response["response_metadata"]["messages"]
    assert messages and all("[json-pointer:/blocks" in m for m in messages), messages
    assert fake_slack.messages("C0PARTNERS") == []


def test_blocks_as_an_invalid_json_string_are_refused(client: WebClient) -> None:
    form = {"channel": "C0PARTNERS", "text": "x", "blocks": "[{not json"}
    assert error_of(lambda: client.api_call("chat.postMessage", params=form)) == (
        "invalid_blocks_format"
    )
    form["blocks"] = json.dumps({"type": "divider"})
    assert error_of(lambda: client.api_call("chat.postMessage", params=form)) == (
        "invalid_blocks_format"
    )


def test_valid_blocks_at_the_limits_are_accepted(fake_slack: FakeSlack, client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3000}},
        actions(button("b" * 75, value="v" * 2000), select(("o" * 75, "v" * 150))),
        actions(
            radios(*[(f"Option {n}", str(n)) for n in range(10)])
            | {"initial_option": radios(("Option 9", "9"))["options"][0]},
            {"type": "datepicker", "action_id": "when", "initial_date": "2027-03-01"},
        ),
        *[{"type": "divider"}] * 46,
    ]
    client.chat_postMessage(channel="C0PARTNERS", text="x" * 40_000, blocks=blocks)
    (posted,) = fake_slack.messages("C0PARTNERS")
    assert len(posted["blocks"]) == 50
    assert all(b["block_id"] for b in posted["blocks"]), "Slack fills in block_ids"


def test_broadcast_mentions_are_caught_in_text_and_blocks(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="C0PARTNERS", text="P-1 &lt;!channel&gt; escaped")
    assert fake_slack.broadcast_mentions() == []
    pinging = {"type": "section", "text": {"type": "mrkdwn", "text": "P-2 <!here|here>"}}
    client.chat_postMessage(channel="C0PARTNERS", text="P-2", blocks=[pinging])
    assert [m["text"] for m in fake_slack.broadcast_mentions()] == ["P-2"]


# ---- threads, updates, ephemerals -----------------------------------------------------------


def test_replies_need_an_existing_top_level_message(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel="C0PARTNERS", text="parent")["ts"]
    reply = client.chat_postMessage(channel="C0PARTNERS", text="reply", thread_ts=parent)["ts"]
    post = client.chat_postMessage
    assert error_of(lambda: post(channel="C0PARTNERS", text="x", thread_ts="1.000001")) == (
        "thread_not_found"
    )
    assert error_of(lambda: post(channel="C0PARTNERS", text="x", thread_ts=reply)) == (
        "thread_not_found"
    )
    assert error_of(lambda: post(channel="DU0ALICE", text="x", thread_ts=parent)) == (
        "thread_not_found"
    )
    (top,) = fake_slack.messages("C0PARTNERS")
    assert top["text"] == "parent" and top["reply_count"] == 1
    assert [m["text"] for m in fake_slack.messages("C0PARTNERS", thread_ts=parent)] == ["reply"]


@pytest.mark.filterwarnings(NO_FALLBACK_WARNING)
def test_update_replaces_the_bots_own_messages_and_keeps_history(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    ts = client.chat_postMessage(channel="C0PARTNERS", text="v1", blocks=[SECTION])["ts"]
    client.chat_update(channel="C0PARTNERS", ts=ts, text="v2")
    current = fake_slack.message("C0PARTNERS", ts)
    assert current is not None
    assert current["text"] == "v2" and current["blocks"][0]["text"] == SECTION["text"]
    assert [h["text"] for h in current["history"]] == ["v1"]
    update = client.chat_update
    assert error_of(lambda: update(channel="C0PARTNERS", ts=ts, blocks=[SECTION])) == (
        "missing_text_fallback"
    )
    assert error_of(lambda: update(channel="C0PARTNERS", ts="1.000001", text="x")) == (
        "message_not_found"
    )
    theirs = fake_slack.add_user_message("C0PARTNERS", "U0ALICE", "mine")["ts"]
    assert error_of(lambda: update(channel="C0PARTNERS", ts=theirs, text="x")) == (
        "cant_update_message"
    )


def test_ephemerals_go_only_to_members_of_the_channel(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    fake_slack.add_user("U0CAROL")
    sent = client.chat_postEphemeral(channel="C0PARTNERS", user="U0ALICE", text="only you")
    assert sent["message_ts"]
    post = client.chat_postEphemeral
    assert error_of(lambda: post(channel="C0PARTNERS", user="U0CAROL", text="x")) == (
        "user_not_in_channel"
    )
    assert error_of(lambda: post(channel="DU0ALICE", user="U0BOB", text="x")) == (
        "user_not_in_channel"
    )
    assert error_of(lambda: post(channel="C0NOBOT", user="U0ALICE", text="x")) == "not_in_channel"
    assert [e["text"] for e in fake_slack.ephemerals("U0ALICE")] == ["only you"]
    assert fake_slack.ephemerals("U0BOB") == [] and fake_slack.messages("C0PARTNERS") == []


# ---- Home tabs --------------------------------------------------------------------------------


def home(blocks: list[Any]) -> dict[str, Any]:
    return {"type": "home", "blocks": blocks}


def test_home_tabs_are_validated_and_kept_per_user(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    publish = client.views_publish
    assert error_of(lambda: publish(user_id="U0ALICE", view=home([SECTION] * 101))) == (
        "invalid_arguments"
    )
    a_modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Check"},
        "blocks": [SECTION],
    }
    assert error_of(lambda: publish(user_id="U0ALICE", view=a_modal)) == "invalid_arguments"
    assert error_of(lambda: publish(user_id="U0NOBODY", view=home([SECTION]))) == "user_not_found"
    published = publish(user_id="U0ALICE", view=home([SECTION] * 100))["view"]
    view = fake_slack.home_view("U0ALICE")
    assert view is not None and view["id"] == published["id"] and len(view["blocks"]) == 100
    assert fake_slack.home_view("U0BOB") is None
    assert error_of(lambda: publish(user_id="U0ALICE", view=home([SECTION]), hash="x")) == (
        "hash_conflict"
    )


# ---- rate limits, injected failures, records ------------------------------------------------


def test_429_carries_retry_after_and_slack_sdk_waits_it_out(fake_slack: FakeSlack) -> None:
    bare = WebClient(token="xoxb-test", base_url=fake_slack.api_url)
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        bare.chat_postMessage(channel="C0PARTNERS", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"

    patient = WebClient(
        token="xoxb-test",
        base_url=fake_slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()
    patient.chat_postMessage(channel="C0PARTNERS", text="after the wait")
    assert time.monotonic() - started >= 1.0
    statuses = [c.status for c in fake_slack.calls_to("chat.postMessage")]
    assert statuses == [429, 429, 200]
    assert [m["text"] for m in fake_slack.messages("C0PARTNERS")] == ["after the wait"]


def test_failures_on_demand(fake_slack: FakeSlack, client: WebClient) -> None:
    fake_slack.fail("chat.postMessage", error="channel_not_found", times=2)
    fake_slack.fail("users.info", error="internal_error", status=500)
    for _ in range(2):
        assert error_of(lambda: client.chat_postMessage(channel="C0PARTNERS", text="x")) == (
            "channel_not_found"
        )
    client.chat_postMessage(channel="C0PARTNERS", text="x")
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U0ALICE")
    assert raised.value.response.status_code == 500
    assert fake_slack.errors == [], "injected failures are not the bot's mistakes"


def test_every_call_is_recorded_with_its_arguments_and_outcome(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="C0PARTNERS", text="x")
    error_of(lambda: client.chat_postMessage(channel="C0NOBOT", text="y"))
    ok, refused = fake_slack.calls_to("chat.postMessage")
    assert ok.ok and ok.args == {"channel": "C0PARTNERS", "text": "x"} and ok.status == 200
    assert refused.error == "not_in_channel" and fake_slack.errors == [refused]


# ---- waiting ------------------------------------------------------------------------------


@pytest.fixture
def later(client: WebClient) -> Iterator[Any]:
    """Post from another thread after a delay, as the bot does after acknowledging."""
    timers: list[threading.Timer] = []

    def schedule(delay: float, text: str) -> None:
        timer = threading.Timer(
            delay, client.chat_postMessage, kwargs={"channel": "C0PARTNERS", "text": text}
        )
        timers.append(timer)
        timer.start()

    yield schedule
    for timer in timers:
        timer.join()


def test_wait_for_wakes_on_the_change_and_returns_the_value(
    fake_slack: FakeSlack, later: Any
) -> None:
    later(0.1, "done")
    started = time.monotonic()
    found = fake_slack.wait_for(lambda: fake_slack.messages("C0PARTNERS")[0]["text"])
    assert found == "done" and time.monotonic() - started < 1.0


def test_wait_for_times_out_with_a_dump_of_what_happened(
    fake_slack: FakeSlack, client: WebClient
) -> None:
    error_of(
        lambda: client.chat_postMessage(channel="C0PARTNERS", text="x", blocks=[SECTION | {"x": 1}])
    )
    with pytest.raises(AssertionError) as raised:
        fake_slack.wait_for(
            lambda: fake_slack.messages("C0PARTNERS"), timeout=0.2, message="a post"
        )
    report = str(raised.value)
    assert "a post not met within 0.2s" in report
    assert (
        "chat.postMessage -> invalid_blocks" in report and "invalid additional property" in report
    )


def test_wait_idle_returns_once_the_bot_is_quiet(fake_slack: FakeSlack, later: Any) -> None:
    later(0.1, "one")
    later(0.2, "two")
    time.sleep(0.05)
    fake_slack.wait_idle(quiet=0.3)
    assert len(fake_slack.messages("C0PARTNERS")) == 2
