"""What Slack sends the bot when a person acts, shaped as Slack shapes it, and signed.

The shapes are Slack's: a slash command's form, an Events API `event_callback` envelope
(a DM, the App Home opened), and a `block_actions` payload carrying the message or view
as it is shown and the `state.values` of its inputs. `press` and `selection` turn what a
person pressed or picked into the action Slack reports, refusing what the element does not
offer. The sandbox and the end-to-end tests' driver both build their actions here, so the
bot is tried with one idea of what Slack sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Container
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# element type -> the key of the selection in an action and in state.values
SELECTION_KEYS = {
    "static_select": "selected_option",
    "radio_buttons": "selected_option",
    "overflow": "selected_option",
    "multi_static_select": "selected_options",
    "checkboxes": "selected_options",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "plain_text_input": "value",
    "number_input": "value",
}
_MULTI = {
    "multi_static_select",
    "checkboxes",
    "multi_conversations_select",
    "multi_channels_select",
    "multi_users_select",
}
_TIME = r"([01]\d|2[0-3]):[0-5]\d"  # a timepicker's HH:mm
_OPTIONS = {"static_select", "multi_static_select", "radio_buttons", "overflow", "checkboxes"}


class NotOffered(ValueError):
    """A press or choice on something the message or view does not show."""


def signed(secret: str, body: bytes, content_type: str) -> dict[str, str]:
    """The headers Slack sends with `body`: its v0 signature, made now."""
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def command(
    team_id: str, user: dict[str, Any], channel: dict[str, Any], text: str, **urls: str
) -> bytes:
    """`/partnership text` typed by `user` in `channel`, as the form Slack posts."""
    words = text.strip().split(maxsplit=1)
    form = {
        "token": "unused-verification-token",
        "team_id": team_id,
        "team_domain": "sandbox",
        "channel_id": channel["id"],
        "channel_name": "directmessage" if channel.get("is_im") else channel["name"],
        "user_id": user["id"],
        "user_name": user["name"],
        "command": words[0] if words else "",
        "text": words[1] if len(words) > 1 else "",
        "api_app_id": urls["app_id"],
        "is_enterprise_install": "false",
        "response_url": urls["response_url"],
        "trigger_id": urls["trigger_id"],
    }
    return urlencode(form).encode()


def event(team_id: str, app_id: str, bot_user_id: str, inner: dict[str, Any]) -> bytes:
    """An Events API delivery of `inner`."""
    envelope = {
        "token": "unused-verification-token",
        "team_id": team_id,
        "api_app_id": app_id,
        "event": inner,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(envelope).encode()


def direct_message(
    team_id: str, user: str, channel: str, message: dict[str, Any]
) -> dict[str, Any]:
    """The `message` event of a person writing in their DM with the bot."""
    inner = {
        "client_msg_id": str(uuid.uuid4()),
        "type": "message",
        "text": message["text"],
        "user": user,
        "ts": message["ts"],
        "team": team_id,
        "channel": channel,
        "event_ts": message["ts"],
        "channel_type": "im",
    }
    if message.get("thread_ts"):
        inner["thread_ts"] = message["thread_ts"]
    return inner


def home_opened(user: str, dm: str, view: dict[str, Any] | None) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": dm,
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        inner["view"] = view
    return inner


def block_actions(
    team_id: str, user: dict[str, Any], action: dict[str, Any], **where: Any
) -> bytes:
    """A press or choice: on a message (`container`, `channel`, `message` unless it is
    ephemeral, `state`) or on a view (`view`, with its state inside), as Slack posts it."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user["id"],
            "username": user["name"],
            "name": user["name"],
            "team_id": team_id,
        },
        "api_app_id": where.pop("app_id"),
        "token": "unused-verification-token",
        "trigger_id": where.pop("trigger_id"),
        "team": {"id": team_id, "domain": "sandbox"},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
        **where,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def interactive_elements(blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every element a person can use, with its block_id, in the order shown."""
    found: list[tuple[str, dict[str, Any]]] = []
    for block in blocks:
        if block.get("type") == "actions":
            found += [(block["block_id"], e) for e in block.get("elements", [])]
        elif block.get("type") == "section" and "accessory" in block:
            found.append((block["block_id"], block["accessory"]))
        elif block.get("type") == "input" and "element" in block:
            found.append((block["block_id"], block["element"]))
    return found


def element_at(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any]:
    for found_block, element in interactive_elements(blocks):
        if found_block == block_id and element.get("action_id") == action_id:
            return element
    raise NotOffered(f"nothing called {action_id!r} in block {block_id!r} is shown now")


def press(block_id: str, button: dict[str, Any]) -> dict[str, Any]:
    """The action Slack reports for a button press."""
    if button.get("type") != "button":
        raise NotOffered(f"{button.get('action_id')!r} is not a button")
    action = {
        "action_id": button.get("action_id"),
        "block_id": block_id,
        "text": button["text"],
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("value", "style"):
        if key in button:
            action[key] = button[key]
    return action


def selection(
    block_id: str,
    element: dict[str, Any],
    chosen: str | list[str],
    conversations: Container[str],
    users: Container[str] = (),
    channels: Container[str] | None = None,
) -> dict[str, Any]:
    """The action Slack reports when `chosen` is picked in `element` (a value, or a list for
    the multi kinds: an option's value, a conversation, channel or user ID, an ISO date, a
    time, or typed text); NotOffered for a choice the element does not offer. A picker
    offers the workspace's `conversations` and `users`, a channels picker its public
    `channels` (by default, the conversations)."""
    kind = element.get("type", "")
    if kind not in SELECTION_KEYS:
        raise NotOffered(f"nothing can be chosen in a {kind!r}")
    if kind not in _MULTI and isinstance(chosen, list):
        raise NotOffered(f"a {kind} takes one choice, not a list")
    values = chosen if isinstance(chosen, list) else [chosen]
    picked: list[Any] = values
    if kind in _OPTIONS:
        options = list(element.get("options", []))
        for group in element.get("option_groups", []):
            options += group.get("options", [])
        by_value = {option["value"]: option for option in options}
        missing = [value for value in values if value not in by_value]
        if missing:
            raise NotOffered(f"{kind} {element.get('action_id')!r} offers no {missing}")
        picked = [by_value[value] for value in values]
    elif kind.endswith(("users_select", "conversations_select", "channels_select")):
        if kind.endswith("users_select"):
            offered = users
        elif kind.endswith("conversations_select") or channels is None:
            offered = conversations
        else:
            offered = channels
        unknown = [value for value in values if value not in offered]
        if unknown:
            raise NotOffered(f"{kind} cannot offer {unknown}: not in the workspace")
    elif kind == "plain_text_input":
        limit = element.get("max_length", 3000)
        if not isinstance(values[0], str) or len(values[0]) > limit:
            raise NotOffered(f"type at most {limit} characters")
    elif kind == "number_input":
        _check_number(element, values[0])
    elif kind == "timepicker":
        if not isinstance(values[0], str) or not re.fullmatch(_TIME, values[0]):
            raise NotOffered("not a time (HH:mm)")
    else:  # datepicker
        try:
            picked = [date.fromisoformat(value).isoformat() for value in values]
        except (TypeError, ValueError):
            raise NotOffered("not a date") from None
    action = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block_id,
        SELECTION_KEYS[kind]: picked if kind in _MULTI else picked[0],
        "action_ts": f"{time.time():.6f}",
    }
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    return action


def _check_number(element: dict[str, Any], typed: Any) -> None:
    """Slack's number_input takes digits (a decimal point only where it allows one), within
    the element's bounds."""
    form = r"-?\d+(\.\d+)?" if element.get("is_decimal_allowed") else r"-?\d+"
    if not isinstance(typed, str) or not re.fullmatch(form, typed):
        raise NotOffered("not a number this input takes")
    low, high = element.get("min_value"), element.get("max_value")
    if (low is not None and Decimal(typed) < Decimal(low)) or (
        high is not None and Decimal(typed) > Decimal(high)
    ):
        raise NotOffered(f"{typed} is outside the bounds of the input")


def state_values(
    blocks: list[dict[str, Any]],
    choices: dict[str, dict[str, str | list[str]]],
    conversations: Container[str],
    users: Container[str] = (),
    channels: Container[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """`state.values` as Slack keeps them: what is chosen in each element still shown."""
    values: dict[str, dict[str, Any]] = {}
    for block_id, element in interactive_elements(blocks):
        action_id = element.get("action_id")
        chosen = choices.get(block_id, {}).get(action_id or "")
        if action_id is None or chosen is None or element.get("type") not in SELECTION_KEYS:
            continue
        try:
            action = selection(block_id, element, chosen, conversations, users, channels)
        except NotOffered:  # picked in an earlier version of the element: Slack forgets it
            continue
        key = SELECTION_KEYS[element["type"]]
        values.setdefault(block_id, {})[action_id] = {"type": element["type"], key: action[key]}
    return values
