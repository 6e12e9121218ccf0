"""The driver speaks Slack's wire format well enough that a real Bolt app accepts it.

A small stand-in Bolt app (a slash command, buttons, a select, a DM handler and a Home
tab) runs behind the bot's real HTTP server; the driver's signed requests must
reach its listeners with the payloads Slack sends, and forged or stale ones must not.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.sandbox.fakeslack import FakeSlack
from tests.slack_driver import BotServer, SlackDriver, form_quote, serve

SECRET = "test-secret"
PARTNERS = "C0PARTNERS"


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def proposal_blocks() -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*P-1* Integrated discharge"}},
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "text": plain("Approve"),
                    "action_id": "approve",
                    "value": "P-1",
                },
                {"type": "button", "text": plain("Reject"), "action_id": "reject", "value": "P-1"},
                {
                    "type": "static_select",
                    "action_id": "cadence",
                    "placeholder": plain("Review every"),
                    "options": [
                        {"text": plain("Quarter"), "value": "quarterly"},
                        {"text": plain("Year"), "value": "yearly"},
                    ],
                },
                {"type": "channels_select", "action_id": "where", "placeholder": plain("Post in")},
            ],
        },
    ]


@dataclass
class Seen:
    """What the stand-in's listeners received, for assertions (filled from Bolt's threads)."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    retries: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, body: dict[str, Any], retry: str | None = None) -> None:
        with self.lock:
            self.bodies.append(body)
            self.retries.append(retry)


def standin_app(fake: FakeSlack, seen: Seen) -> App:
    """A tiny Bolt app in the shape of the real bot, so the harness is tested on its own."""
    client = WebClient(token="xoxb-test", base_url=fake.api_url)
    app = App(signing_secret=SECRET, client=client)  # Bolt takes the token from the client

    @app.command("/partnership")
    def on_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack(text="Posting it now.")
        seen.add(command)
        if command["text"] == "ephemeral":
            dismiss = {"type": "button", "text": plain("Dismiss"), "action_id": "dismiss"}
            client.chat_postEphemeral(
                channel=command["channel_id"],
                user=command["user_id"],
                text="Only you can see this",
                blocks=[{"type": "actions", "elements": [dismiss]}],
            )
        else:
            client.chat_postMessage(channel=PARTNERS, text="P-1", blocks=proposal_blocks())

    @app.action("approve")
    def on_approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.add(body)
        client.chat_update(
            channel=body["channel"]["id"], ts=body["message"]["ts"], text="Approved", blocks=[]
        )

    @app.action("reject")
    def on_reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.add(body)
        client.chat_update(
            channel=body["channel"]["id"], ts=body["message"]["ts"], text="Rejected", blocks=[]
        )

    @app.action("dismiss")
    def on_dismiss(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.add(body)

    @app.action(re.compile("^(cadence|where|kinds|many|conv|who|when|part|done)$"))
    def on_select(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.add(body)

    @app.event("message")
    def on_dm(event: dict[str, Any], client: WebClient, body: dict[str, Any], context: Any) -> None:
        seen.add(body, context.get("retry"))
        client.chat_postMessage(channel=event["channel"], text=f"You said: {event['text']}")

    @app.middleware
    def note_retries(request: Any, context: Any, next: Any) -> None:
        context["retry"] = request.headers.get("x-slack-retry-num", [None])[0]
        next()

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        button = {"type": "button", "text": plain("Check a partnership"), "action_id": "new"}
        client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "actions", "elements": [button]}]},
        )

    @app.action("new")
    def on_new(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.add(body)
        client.chat_postMessage(channel=body["user"]["id"], text="Let's start.")

    return app


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def driver(fake_slack: FakeSlack, seen: Seen) -> Iterator[SlackDriver]:
    with serve(standin_app(fake_slack, seen)) as base_url:
        yield SlackDriver(base_url, SECRET, fake_slack)


def posted_proposal(fake: FakeSlack, driver: SlackDriver) -> dict[str, Any]:
    driver.command("U0ALICE")
    return fake.wait_for(lambda: fake.messages(PARTNERS)[0], message="the proposal post")


# ---- signatures -----------------------------------------------------------------------


def test_signed_command_is_accepted_and_its_ack_body_returned(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    response = driver.command("U0ALICE", text="")
    assert response.status == 200
    assert response.text == "Posting it now."  # Bolt acks a bare text as text/plain
    fake_slack.wait_for(lambda: fake_slack.messages(PARTNERS))
    command = seen.bodies[0]
    assert command["user_id"] == "U0ALICE" and command["channel_id"] == "DU0ALICE"
    assert command["trigger_id"] and command["response_url"].startswith(fake_slack.base_url)


def test_bad_signature_is_refused(driver: SlackDriver, seen: Seen) -> None:
    body = urlencode({"command": "/partnership", "user_id": "U0ALICE", "text": ""}).encode()
    headers = driver.sign(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert driver.raw(body, headers).status == 401
    assert driver.raw(body, {"Content-Type": "application/x-www-form-urlencoded"}).status == 401
    assert seen.bodies == []


def test_stale_timestamp_is_refused_even_with_a_valid_signature(
    driver: SlackDriver, seen: Seen
) -> None:
    body = urlencode({"command": "/partnership", "user_id": "U0ALICE", "text": ""}).encode()
    headers = driver.sign(body, timestamp=int(time.time()) - 6 * 60)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert driver.raw(body, headers).status == 401
    assert seen.bodies == []


# ---- buttons and selects --------------------------------------------------------------------


def test_pressing_a_button_sends_slacks_block_actions_payload(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    proposal = posted_proposal(fake_slack, driver)
    assert driver.press("U0BOB", proposal, action_id="approve").status == 200
    fake_slack.wait_for(lambda: fake_slack.message(PARTNERS, proposal["ts"])["text"] == "Approved")
    body = seen.bodies[-1]
    assert body["type"] == "block_actions"
    assert body["user"] == {"id": "U0BOB", "username": "bob", "name": "bob", "team_id": "T000TEST"}
    assert body["container"] == {
        "type": "message",
        "message_ts": proposal["ts"],
        "channel_id": PARTNERS,
        "is_ephemeral": False,
    }
    assert body["message"]["blocks"] == proposal["blocks"]
    (action,) = body["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "approve",
        "decide",
        "P-1",
    )
    assert body["trigger_id"] and body["response_url"]


def test_buttons_can_be_found_by_text_or_value_but_only_if_rendered(
    fake_slack: FakeSlack, driver: SlackDriver
) -> None:
    proposal = posted_proposal(fake_slack, driver)
    with pytest.raises(AssertionError, match="no element matching"):
        driver.press("U0BOB", proposal, action_id="discard")
    with pytest.raises(AssertionError, match="2 elements match"):
        driver.press("U0BOB", proposal, value="P-1")
    driver.press("U0BOB", proposal, text="Reject")
    fake_slack.wait_for(lambda: fake_slack.message(PARTNERS, proposal["ts"])["text"] == "Rejected")
    with pytest.raises(AssertionError, match="no element matching"):
        driver.press("U0BOB", proposal, text="Reject")  # the replaced message has no buttons


def test_selections_send_the_choice_and_are_kept_in_state(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    proposal = posted_proposal(fake_slack, driver)
    driver.select("U0ALICE", proposal, "cadence", "yearly")
    driver.select("U0ALICE", proposal, "where", "C0NOBOT")
    fake_slack.wait_for(lambda: len(seen.bodies) == 3)
    cadence, where = seen.bodies[1]["actions"][0], seen.bodies[2]["actions"][0]
    assert cadence["selected_option"] == {"text": plain("Year"), "value": "yearly"}
    assert where["selected_channel"] == "C0NOBOT"
    assert seen.bodies[2]["state"]["values"]["decide"] == {
        "cadence": {"type": "static_select", "selected_option": cadence["selected_option"]},
        "where": {"type": "channels_select", "selected_channel": "C0NOBOT"},
    }
    with pytest.raises(AssertionError, match="offers no"):
        driver.select("U0ALICE", proposal, "cadence", "weekly")
    with pytest.raises(AssertionError, match="not in the workspace"):
        driver.select("U0ALICE", proposal, "where", "C0NOWHERE")


SELECTIONS = {
    "checkboxes": ("kinds", ["nhs", "housing"], "selected_options"),
    "multi_static_select": ("many", ["housing"], "selected_options"),
    "conversations_select": ("conv", "DU0ALICE", "selected_conversation"),
    "users_select": ("who", "U0BOB", "selected_user"),
    "datepicker": ("when", "2027-04-01", "selected_date"),
    "radio_buttons": ("part", "housing", "selected_option"),
}


@pytest.mark.parametrize("kind", SELECTIONS)
def test_each_kind_of_selection_is_sent_in_slacks_shape(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen, kind: str
) -> None:
    action_id, value, key = SELECTIONS[kind]
    element: dict[str, Any] = {"type": kind, "action_id": action_id}
    if kind in ("checkboxes", "multi_static_select", "radio_buttons"):
        element["options"] = [
            {"text": plain(v.title()), "value": v} for v in ("nhs", "housing", "voluntary")
        ]
    client = WebClient(token="xoxb-test", base_url=fake_slack.api_url)
    ts = client.chat_postMessage(
        channel=PARTNERS, text="Pick", blocks=[{"type": "actions", "elements": [element]}]
    )["ts"]
    driver.select("U0ALICE", fake_slack.message(PARTNERS, ts), action_id, value)  # type: ignore[arg-type]
    fake_slack.wait_for(lambda: seen.bodies)
    (action,) = seen.bodies[0]["actions"]
    expected = value
    if kind in ("checkboxes", "multi_static_select"):
        expected = [{"text": plain(v.title()), "value": v} for v in value]
    elif kind == "radio_buttons":
        expected = {"text": plain(str(value).title()), "value": value}
    assert (action["type"], action[key]) == (kind, expected)


def radios(block_id: str, *values: str) -> dict[str, Any]:
    """One part of a group question: radio buttons sharing the action_id of every part."""
    options = [{"text": plain(v.title()), "value": v} for v in values]
    element = {"type": "radio_buttons", "action_id": "part", "options": options}
    return {"type": "actions", "block_id": block_id, "elements": [element]}


def test_radio_buttons_sharing_an_action_id_are_picked_by_block_and_sent_in_state(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    """A group question shows one set of radio buttons per part, all with one action_id:
    the driver picks by block, and Continue carries every part's choice in state."""
    done = {"type": "button", "text": plain("Continue"), "action_id": "done", "value": "1.1."}
    blocks = [
        radios("part:review", "yes", "no"),
        radios("part:lead", "yes", "no"),
        {"type": "actions", "block_id": "answer", "elements": [done]},
    ]
    client = WebClient(token="xoxb-test", base_url=fake_slack.api_url)
    ts = client.chat_postMessage(channel=PARTNERS, text="Where are you?", blocks=blocks)["ts"]
    message = fake_slack.message(PARTNERS, ts)
    assert message is not None
    with pytest.raises(AssertionError, match="2 elements match"):
        driver.select("U0ALICE", message, "part", "yes")  # ambiguous: name the block
    with pytest.raises(AssertionError, match="has 0 elements"):
        driver.select_in_block("U0ALICE", message, "part:nowhere", "yes")
    with pytest.raises(AssertionError, match="offers no"):
        driver.select_in_block("U0ALICE", message, "part:lead", "maybe")
    driver.select_in_block("U0ALICE", message, "part:lead", "no")
    driver.select_in_block("U0ALICE", message, "part:review", "yes")
    driver.press("U0ALICE", message, action_id="done")
    fake_slack.wait_for(lambda: len(seen.bodies) == 3)
    lead, review, pressed = seen.bodies
    assert (lead["actions"][0]["block_id"], review["actions"][0]["block_id"]) == (
        "part:lead",
        "part:review",
    )
    assert lead["actions"][0]["selected_option"] == {"text": plain("No"), "value": "no"}
    assert pressed["state"]["values"] == {
        "part:review": {
            "part": {
                "type": "radio_buttons",
                "selected_option": {"text": plain("Yes"), "value": "yes"},
            }
        },
        "part:lead": {
            "part": {
                "type": "radio_buttons",
                "selected_option": {"text": plain("No"), "value": "no"},
            }
        },
    }


def test_ephemeral_buttons_are_pressed_by_their_recipient_only(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    driver.command("U0ALICE", text="ephemeral")
    (shown,) = fake_slack.wait_for(lambda: fake_slack.ephemerals("U0ALICE"))
    with pytest.raises(AssertionError, match="another user"):
        driver.press("U0BOB", shown, action_id="dismiss")
    driver.press("U0ALICE", shown, action_id="dismiss")
    fake_slack.wait_for(lambda: len(seen.bodies) == 2, message="the press delivered")
    body = seen.bodies[-1]
    assert body["container"]["is_ephemeral"] is True and "message" not in body


# ---- events -------------------------------------------------------------------------------


def test_dm_is_recorded_delivered_and_replayable_as_slacks_retries(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    driver.dm("U0ALICE", "new", event_id="Ev0001")
    dm = fake_slack.dm_channel("U0ALICE")
    fake_slack.wait_for(lambda: len(fake_slack.messages(dm)) == 2)
    assert driver.dm("U0ALICE", "new", event_id="Ev0001", retry_num=1).status == 200
    fake_slack.wait_for(lambda: len(seen.bodies) == 2)
    first, retry = seen.bodies
    assert first == retry and first["event_id"] == "Ev0001" and seen.retries == [None, "1"]
    event = first["event"]
    assert (event["type"], event["channel_type"], event["channel"]) == ("message", "im", dm)
    assert first["authorizations"][0]["user_id"] == "U0BOT"
    assert [m["user"] for m in fake_slack.messages(dm)][:2] == ["U0ALICE", "U0BOT"]


def test_home_tab_is_published_on_open_and_its_buttons_pressable(
    fake_slack: FakeSlack, driver: SlackDriver, seen: Seen
) -> None:
    driver.home_opened("U0ALICE")
    view = fake_slack.wait_for(lambda: fake_slack.home_view("U0ALICE"))
    driver.press_home("U0ALICE", text="Check a partnership")
    dm = fake_slack.dm_channel("U0ALICE")
    fake_slack.wait_for(lambda: fake_slack.messages(dm)[0]["text"] == "Let's start.")
    body = seen.bodies[0]
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["view"]["id"] == view["id"] and body["actions"][0]["action_id"] == "new"


# ---- the real bot -----------------------------------------------------------------------------


def test_the_real_bot_serves_signed_requests_only(
    bot_server: BotServer, slack: SlackDriver
) -> None:
    with urllib.request.urlopen(f"{bot_server.base_url}/healthz") as health:
        assert health.status == 200
    body = json.dumps({"type": "event_callback", "event": {}}).encode()
    assert slack.raw(body, {"Content-Type": "application/json"}).status == 401


@pytest.mark.postgres
def test_postgres_variants_get_a_schema_in_test_database_url(database_url: str) -> None:
    assert database_url.startswith("postgresql")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a b+c/d?e=f&g#h%i",
        "é ü 中文 😀 ~_.-*'()!",
        "".join(map(chr, range(300))),
        json.dumps({"text": "Two & three <@U0ALICE>", "blocks": [{"type": "divider"}]}),
    ],
)
def test_the_driver_quotes_a_payload_as_a_form_encoder_does(text: str) -> None:
    assert form_quote(text) == quote_plus(text)
