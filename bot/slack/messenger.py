"""Talking to Slack's Web API for the services: post, update, ephemeral, open a DM.

A failed post is logged and reported as None rather than raised: every caller has
already saved its state, so nothing is lost and the person can ask to see it again.

Every post carries a tag in its message metadata. When the connection drops after the
request left (Slack may or may not have posted it), the post is looked for by its tag in
the channel (or thread) before it is ever sent again: a post whose outcome is unknown is
never blindly repeated. Callers that may post the same thing twice (a retried press, a
restarted process) give a stable tag, so the second attempt finds the first.
"""

from __future__ import annotations

import logging
import uuid
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import Message, notice

log = logging.getLogger(__name__)

EVENT_TYPE = "partnership_check_post"  # the metadata event type of every post
LOOK_BACK = 50  # recent messages searched for a tag (the post is among the newest)


class SlackUnreachable(Exception):
    """A post whose outcome could not be found out: Slack did not answer, even to a look."""


def outcome_unknown(error: BaseException) -> bool:
    """The request may have reached Slack: a dropped line or a timeout, not a refusal."""
    if isinstance(error, URLError):
        return not isinstance(error.reason, ConnectionRefusedError)
    return isinstance(error, RemoteDisconnected | ConnectionResetError | TimeoutError)


class Messenger:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._channel_ids: dict[str, str] = {}  # "#name" -> ID, as found

    def open_dm(self, user_id: str) -> str:
        return self.client.conversations_open(users=user_id)["channel"]["id"]

    def say(
        self,
        channel: str,
        message: Message,
        thread_ts: str | None = None,
        tag: str | None = None,
    ) -> str | None:
        """Post `message`; its ts, or None (logged) if Slack refused or could not be reached."""
        try:
            return self.post(channel, message, thread_ts, tag)["ts"]
        except SlackApiError as error:
            log.warning("Could not post to %s: %s", channel, error.response.get("error"))
        except (SlackUnreachable, URLError, OSError) as error:
            log.warning("Could not post to %s: %s", channel, type(error).__name__)
        return None

    def post(
        self,
        channel: str,
        message: Message,
        thread_ts: str | None = None,
        tag: str | None = None,
        look_first: bool = False,
    ) -> dict[str, str]:
        """Post `message` once and return where it is; raises SlackApiError when Slack
        refuses, SlackUnreachable when it cannot be found out whether it was posted.

        `look_first`: an earlier attempt with this `tag` may have been posted (a claim
        left by a process that stopped), so look for it before posting.
        """
        tag = tag or uuid.uuid4().hex
        if look_first and (found := self.find(channel, tag, thread_ts)):
            return found
        for _attempt in range(2):
            try:
                response = self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    metadata={"event_type": EVENT_TYPE, "event_payload": {"tag": tag}},
                    **message.as_kwargs(),
                )
                return {"channel": response["channel"], "ts": response["ts"]}
            except (URLError, OSError) as error:
                if not outcome_unknown(error):
                    raise
                log.warning("No answer from Slack to a post in %s; looking for it", channel)
                if found := self.find(channel, tag, thread_ts):
                    return found
        raise SlackUnreachable(f"a post to {channel} (tag {tag})")

    def channel_id(self, channel: str) -> str:
        """A channel's ID, for one given by `#name` (reading a channel needs its ID)."""
        if not channel.startswith("#"):
            return channel
        if channel not in self._channel_ids:
            cursor = None
            while True:
                page = self.client.conversations_list(
                    types="public_channel,private_channel", limit=200, cursor=cursor
                )
                for found in page.get("channels") or []:
                    self._channel_ids[f"#{found['name']}"] = found["id"]
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor or channel in self._channel_ids:
                    break
        return self._channel_ids.get(channel, channel)

    def find(self, channel: str, tag: str, thread_ts: str | None = None) -> dict[str, str] | None:
        """Where the bot's post tagged `tag` is, among the channel's (or thread's) recent
        messages; None if it is not there. Raises SlackUnreachable if Slack cannot say."""
        try:
            channel = self.channel_id(channel)
            if thread_ts:
                page = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=200, include_all_metadata=True
                )
            else:
                page = self.client.conversations_history(
                    channel=channel, limit=LOOK_BACK, include_all_metadata=True
                )
        except (URLError, OSError) as error:
            raise SlackUnreachable(f"looking for tag {tag} in {channel}") from error
        for found in page.get("messages") or []:
            if _tag_of(found) == tag:
                return {"channel": channel, "ts": found["ts"]}
        return None

    def update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
        except SlackApiError as error:
            log.warning("Could not update %s in %s: %s", ts, channel, error.response.get("error"))

    def whisper(self, channel: str, user_id: str, message: str | Message) -> None:
        """An ephemeral message only `user_id` sees (a notice, or a message of its own); in
        their DM instead if they are not in `channel` (someone reading a public channel
        they have not joined can press its buttons, but Slack will not show them an
        ephemeral message there)."""
        message = notice(message) if isinstance(message, str) else message
        try:
            self.client.chat_postEphemeral(channel=channel, user=user_id, **message.as_kwargs())
        except SlackApiError as error:
            reason = error.response.get("error")
            if reason in ("user_not_in_channel", "channel_not_found") and not channel.startswith(
                "D"
            ):
                self.say(self.open_dm(user_id), message)
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


def _tag_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    return (metadata.get("event_payload") or {}).get("tag")
