"""Slack's client for the sandbox's people: what they type and press, sent to the bot as
signed requests exactly as Slack sends them, and only on what Slack shows them.

Each method answers None when the bot took the request, or a problem to show on the page
(the bot's front door refused it); a press on something not shown raises NotOffered.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bot.sandbox import payloads
from bot.sandbox.fakeslack import FakeSlack

EVENTS_PATH = "/slack/events"
COMMAND = "/partnership"
Choices = dict[str, dict[str, str | list[str]]]  # block_id -> action_id -> what is picked


class SlackClient:
    def __init__(
        self, fake: FakeSlack, bot_url: str, signing_secret: str, conversations: set[str]
    ) -> None:
        self.fake = fake
        self.url = bot_url.rstrip("/") + EVENTS_PATH
        self.secret = signing_secret
        self.conversations = conversations  # what a conversations_select offers

    def send(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> str | None:
        """`user` sends `text` in `channel` (or a thread): a slash command when it starts
        with `/`, a message otherwise. The bot hears messages in its DM only (it
        subscribes to `message.im`); in the channel they are there for people to read."""
        text = text.strip()
        where = self._visible(user, channel)
        if not text:
            return "Type a message first."
        if text.startswith("/"):
            return self._command(user, where, text)
        # Slack's client escapes what people type, as the text of every message event.
        typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        message = self.fake.add_user_message(where["id"], user, typed, thread_ts)
        if not where.get("is_im"):
            return None
        inner = payloads.direct_message(self.fake.team_id, user, where["id"], message)
        return self._event(inner)

    def open_home(self, user: str) -> str | None:
        dm = self.fake.dm_channel(user)
        return self._event(payloads.home_opened(user, dm, self.fake.home_view(user)))

    def act(
        self,
        user: str,
        where: dict[str, Any],
        block_id: str,
        action_id: str,
        chosen: str | list[str] | None,
        choices: Choices,
    ) -> str | None:
        """`user` presses (`chosen` None) or picks `chosen` in an element of a message
        (`where` = channel and ts, and `ephemeral`) or of their Home tab (`where` = view).
        Raises NotOffered for anything Slack would not show them."""
        if where.get("view") == "home":
            shown, place = self._home(user)
        else:
            shown, place = self._message(user, where)
        action = self._action(shown["blocks"], block_id, action_id, chosen)
        state = {"values": self._state(shown["blocks"], choices, action, chosen)}
        if "view" in place:
            shown["state"] = state  # a view carries its state inside it
        else:
            place.update(state=state, response_url=self.fake.new_response_url())
        body = payloads.block_actions(
            self.fake.team_id, self.fake.user(user), action, **place, **self._ids()
        )
        return self._post(body, payloads.FORM)

    def _message(self, user: str, where: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The message as shown to `user`, and what a press on it tells of where it was
        (the message itself unless it is ephemeral)."""
        channel = self._visible(user, str(where.get("channel")))
        ts, ephemeral = str(where.get("ts")), bool(where.get("ephemeral"))
        shown = self.fake.ephemeral(ts) if ephemeral else self.fake.wire_message(channel["id"], ts)
        if shown is None or (ephemeral and shown["recipient"] != user):
            raise payloads.NotOffered("the message is gone")
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel["id"],
            "is_ephemeral": ephemeral,
        }
        if shown.get("thread_ts"):
            container["thread_ts"] = shown["thread_ts"]
        place: dict[str, Any] = {
            "container": container,
            "channel": {"id": channel["id"], "name": channel.get("name", "directmessage")},
        }
        if not ephemeral:
            place["message"] = shown
        return shown, place

    def _home(self, user: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """`user`'s Home tab, and what a press on it tells of where it was."""
        view = self.fake.home_view(user)
        if view is None:
            raise payloads.NotOffered("the Home tab is not drawn yet")
        return view, {"container": {"type": "view", "view_id": view["id"]}, "view": view}

    def _action(
        self, blocks: list[dict[str, Any]], block_id: str, action_id: str, chosen: Any
    ) -> dict[str, Any]:
        element = payloads.element_at(blocks, block_id, action_id)
        if chosen is None:
            return payloads.press(block_id, element)
        return payloads.selection(block_id, element, chosen, self.conversations, self._people())

    def _state(
        self,
        blocks: list[dict[str, Any]],
        choices: Choices,
        action: dict[str, Any],
        chosen: str | list[str] | None,
    ) -> dict[str, dict[str, Any]]:
        """The container's state.values, with this action's choice in it."""
        merged = {block: dict(actions) for block, actions in choices.items()}
        if chosen is not None:
            merged.setdefault(action["block_id"], {})[action["action_id"]] = chosen
        return payloads.state_values(blocks, merged, self.conversations, self._people())

    def _people(self) -> set[str]:
        """Who a users_select offers: everyone in the workspace."""
        return set(self.fake.user_ids())

    def _command(self, user: str, channel: dict[str, Any], text: str) -> str | None:
        name = text.split(maxsplit=1)[0]
        if name != COMMAND:
            return f"{name} is not a command here; the bot's is {COMMAND}."
        body = payloads.command(
            self.fake.team_id, self.fake.user(user), channel, text, **self._ids(response=True)
        )
        status, content_type, answer = self._request(body, payloads.FORM)
        if status != 200:
            return f"The bot answered HTTP {status}."
        if not answer.strip():
            return None
        # Bolt answers a text-only ack as plain text, anything more as JSON.
        reply = json.loads(answer) if content_type.startswith(payloads.JSON) else None
        if not isinstance(reply, dict):
            reply = {"text": answer.decode("utf-8")}
        self.fake.command_reply(channel["id"], user, reply)
        return None

    def _event(self, inner: dict[str, Any]) -> str | None:
        body = payloads.event(self.fake.team_id, self.fake.app_id, self.fake.bot_user_id, inner)
        return self._post(body, payloads.JSON)

    def _post(self, body: bytes, content_type: str) -> str | None:
        status, _, _ = self._request(body, content_type)
        return None if status == 200 else f"The bot answered HTTP {status}."

    def _request(self, body: bytes, content_type: str) -> tuple[int, str, bytes]:
        """The bot's answer: its HTTP status, content type and body."""
        headers = payloads.signed(self.secret, body, content_type)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get_content_type(), response.read()
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, refused.headers.get_content_type(), refused.read()

    def _ids(self, response: bool = False) -> dict[str, str]:
        ids = {"app_id": self.fake.app_id, "trigger_id": self.fake.new_trigger_id()}
        if response:
            ids["response_url"] = self.fake.new_response_url()
        return ids

    def _visible(self, user: str, channel: str) -> dict[str, Any]:
        """The conversation, if `user` can see it: their own DM, or a channel they are in."""
        if channel == self.fake.dm_channel(user):
            return self.fake.channel_info(channel)
        if channel not in self.conversations:
            raise payloads.NotOffered(f"{user} cannot see {channel}")
        return self.fake.channel_info(channel)
