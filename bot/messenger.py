"""Talking to Slack's Web API for the services: post, update, ephemeral, open a DM.

A failed post is logged and reported as None rather than raised: every caller has
already saved its state, so nothing is lost and the person can ask to see it again.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from .blocks import Message, notice

log = logging.getLogger(__name__)


class Messenger:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def open_dm(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def say(self, channel: str, message: Message, thread_ts: str | None = None) -> str | None:
        """Post `message`; its ts, or None (logged) if Slack refused or could not be reached."""
        try:
            return self.post(channel, message, thread_ts)["ts"]
        except SlackApiError as error:
            log.warning("Could not post to %s: %s", channel, error.response.get("error"))
            return None

    def post(self, channel: str, message: Message, thread_ts: str | None = None) -> dict:
        """Post `message` and return Slack's answer; raises SlackApiError for the caller."""
        response = self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, **message.as_kwargs()
        )
        return {"channel": response["channel"], "ts": response["ts"]}

    def update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
        except SlackApiError as error:
            log.warning("Could not update %s in %s: %s", ts, channel, error.response.get("error"))

    def whisper(self, channel: str, user_id: str, text: str) -> None:
        """An ephemeral message only `user_id` sees; in their DM instead if they are not in
        `channel` (someone reading a public channel they have not joined can press its
        buttons, but Slack will not show them an ephemeral message there)."""
        try:
            self.client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        except SlackApiError as error:
            reason = error.response.get("error")
            if reason in ("user_not_in_channel", "channel_not_found") and not channel.startswith(
                "D"
            ):
                self.say(self.open_dm(user_id), notice(text))
                return
            log.warning("Could not whisper to %s: %s", user_id, reason)

    def members(self, channel: str) -> frozenset[str]:
        """Everyone in `channel` (every page); nobody if Slack will not say (a channel the
        bot cannot see), so access is refused rather than granted on an error."""
        members: set[str] = set()
        cursor = None
        try:
            while True:
                page = self.client.conversations_members(channel=channel, limit=500, cursor=cursor)
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return frozenset(members)
        except SlackApiError as error:
            log.warning(
                "Could not read the members of %s: %s", channel, error.response.get("error")
            )
            return frozenset()

    def time_zone(self, user_id: str) -> str | None:
        """The person's IANA time zone from their Slack profile, if Slack tells us."""
        try:
            return self.client.users_info(user=user_id)["user"].get("tz")
        except SlackApiError as error:
            log.warning("Could not read %s's time zone: %s", user_id, error.response.get("error"))
            return None
