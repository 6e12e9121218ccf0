"""The sandbox's servers, from outside: what they listen on, what the page is served
with, what they refuse, and that the real bot is reached as Slack reaches it (signed
requests) and strictly checked as Slack checks it (malformed Block Kit, shown on the page).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import payloads
from bot.sandbox.run import Sandbox
from bot.sandbox.workspace import CHANNEL_ID, PEOPLE
from tests.sandbox_support import post, request, sandbox_in, state

ALEX, SAM = PEOPLE[0].id, PEOPLE[1].id
T = TypeVar("T")


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with sandbox_in(tmp_path) as sandbox:
        yield sandbox


def wait_for(check: Callable[[], T], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("not within the time")


def test_every_server_listens_on_127_0_0_1_only(box: Sandbox) -> None:
    assert box.url.startswith("http://127.0.0.1:")
    assert box.page.server_address[0] == "127.0.0.1"
    assert box.bot.effective_host == "127.0.0.1"
    assert box.fake.base_url.startswith("http://127.0.0.1:")
    assert box.settings.api_url == box.fake.api_url, "the bot's WebClient calls the sandbox"


def test_the_page_says_it_is_a_sandbox_and_runs_only_its_own_script(box: Sandbox) -> None:
    status, headers, page = request(box.url + "/")
    assert status == 200 and b"Sandbox" in page and b"not Slack" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, headers, script = request(box.url + "/sandbox.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"innerHTML" not in script, "text goes on the page as text, never as HTML"


def test_a_request_for_another_host_or_not_in_json_is_refused(box: Sandbox) -> None:
    status, _, _ = request(box.url + "/state", headers={"Host": "attacker.example:80"})
    assert status == 403
    form = b"kind=send&user=U0ALEX&channel=C0PARTNERS&text=hi"
    status, _, _ = request(box.url + "/act", form, {"Content-Type": "text/plain"})
    assert status == 415
    assert box.fake.count_messages(CHANNEL_ID) == 0


def test_malformed_block_kit_is_refused_and_shown_on_the_page(box: Sandbox) -> None:
    client = WebClient(token=box.settings.bot_token, base_url=box.fake.api_url)
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=CHANNEL_ID, text="fallback", blocks=too_long)
    assert refused.value.response["error"] == "invalid_blocks"
    (shown,) = state(box, ALEX, CHANNEL_ID)["refused"]
    assert shown["method"] == "chat.postMessage" and shown["error"] == "invalid_blocks"
    assert any("less than 3001 characters" in line for line in shown["details"])


def test_a_slash_command_reaches_the_bot_and_its_answer_is_shown_to_that_person(
    box: Sandbox,
) -> None:
    answer = post(
        box,
        "/act",
        {"kind": "send", "user": ALEX, "channel": CHANNEL_ID, "text": "/partnership help"},
    )
    assert answer == {"ok": True, "problem": None}
    (reply,) = state(box, ALEX, CHANNEL_ID)["messages"]
    assert reply["ephemeral"] and reply["is_bot"]
    assert reply["text"] == "How the partnership check works" and reply["blocks"]
    assert state(box, SAM, CHANNEL_ID)["messages"] == [], "shown to the one who asked"


def test_typed_text_reaches_the_bot_escaped_as_slack_escapes_it(box: Sandbox) -> None:
    post(box, "/act", {"kind": "send", "user": ALEX, "channel": f"D{ALEX}", "text": "new"})
    wait_for(lambda: box.fake.count_messages(f"D{ALEX}", bot_only=True) >= 2)
    post(
        box,
        "/act",
        {"kind": "send", "user": ALEX, "channel": f"D{ALEX}", "text": "<!channel> & co"},
    )
    typed = [m for m in box.fake.messages(f"D{ALEX}") if m["user"] == ALEX][-1]
    assert typed["text"] == "&lt;!channel&gt; &amp; co"
    assert not box.fake.broadcast_mentions()


def test_a_press_on_something_not_shown_is_refused(box: Sandbox) -> None:
    answer = post(
        box,
        "/act",
        {
            "kind": "action",
            "user": ALEX,
            "where": {"channel": CHANNEL_ID, "ts": "1.000001"},
            "block_id": "b",
            "action_id": "post",
            "chosen": None,
            "choices": {},
        },
    )
    assert not answer["ok"] and "not there" in answer["problem"]
    answer = post(box, "/act", {"kind": "send", "user": ALEX, "channel": f"D{SAM}", "text": "hi"})
    assert not answer["ok"], "nobody sees another person's DM"


def test_the_home_tab_is_the_bots_and_its_button_starts_a_check(box: Sandbox) -> None:
    assert post(box, "/act", {"kind": "home", "user": ALEX})["ok"]
    home = wait_for(lambda: state(box, ALEX)["home"])
    block_id, button = next(
        (b, e)
        for b, e in payloads.interactive_elements(home["blocks"])
        if e.get("action_id") == "home_new"
    )
    answer = post(
        box,
        "/act",
        {
            "kind": "action",
            "user": ALEX,
            "where": {"view": "home"},
            "block_id": block_id,
            "action_id": "home_new",
            "chosen": None,
            "choices": {},
        },
    )
    assert answer["ok"], answer
    wait_for(lambda: box.fake.count_messages(f"D{ALEX}", bot_only=True) >= 2)
    assert button["type"] == "button"


def test_jumping_the_clock_with_no_review_scheduled_says_so(box: Sandbox) -> None:
    answer = post(box, "/clock/next", {})
    assert not answer["ok"] and "No review is scheduled yet" in answer["problem"]
    assert not state(box, ALEX)["clock_moved"]


def test_a_choice_is_sent_only_if_the_element_offers_it() -> None:
    menu = {
        "type": "static_select",
        "action_id": "answer_select",
        "options": [{"text": {"type": "plain_text", "text": "Yes"}, "value": "1.yes"}],
    }
    action = payloads.selection("b1", menu, "1.yes", set())
    assert action["selected_option"]["value"] == "1.yes" and action["block_id"] == "b1"
    with pytest.raises(payloads.NotOffered):
        payloads.selection("b1", menu, "1.no", set())
    with pytest.raises(payloads.NotOffered):
        payloads.selection("b1", {"type": "datepicker", "action_id": "d"}, "31 Feb", set())
    assert (
        payloads.state_values(
            [{"type": "actions", "block_id": "b1", "elements": [menu]}],
            {"b1": {"answer_select": "1.gone"}},
            set(),
        )
        == {}
    )


@pytest.mark.parametrize(
    ("element", "chosen"),
    [
        ({"type": "static_select", "options": [{"value": "a"}]}, ["a"]),  # one, not a list
        ({"type": "channels_select"}, "D0DM"),  # a DM is no channel
        ({"type": "multi_users_select"}, ["U0ALEX", "U0NOBODY"]),
        ({"type": "timepicker"}, "25:00"),
        ({"type": "number_input", "is_decimal_allowed": False}, "1.5"),
        ({"type": "number_input", "is_decimal_allowed": True, "max_value": "9"}, "10"),
        ({"type": "plain_text_input", "max_length": 3}, "four"),
    ],
)
def test_pickers_offer_only_what_slack_would(
    element: dict[str, Any], chosen: str | list[str]
) -> None:
    with pytest.raises(payloads.NotOffered):
        payloads.selection("b1", element, chosen, {"C0X", "D0DM"}, {"U0ALEX"}, {"C0X"})


def test_every_kind_of_picker_sends_its_choice_under_slacks_key() -> None:
    offered = ({"C0X", "D0DM"}, {"U0ALEX"}, {"C0X"})
    sent = {
        "multi_conversations_select": ["C0X", "D0DM"],
        "channels_select": "C0X",
        "multi_users_select": ["U0ALEX"],
        "timepicker": "09:30",
        "number_input": "-2",
    }
    for kind, chosen in sent.items():
        action = payloads.selection("b1", {"type": kind, "action_id": "a"}, chosen, *offered)
        assert action[payloads.SELECTION_KEYS[kind]] == chosen, kind


def test_requests_to_the_bot_carry_slacks_signature() -> None:
    headers = payloads.signed("secret", b"body", payloads.FORM)
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert json.dumps(headers)  # plain strings, as sent
