"""The sandbox's made-up workspace: three people, the partnerships channel and the bot.

Three people, so that one can propose, another review from the channel, and a third be
someone the channel's reminders are not for. Tokens are made up at each start: they only
ever travel between this process's own servers on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.sandbox.fakeslack import FakeSlack

TEAM_ID = "T0SANDBOX"
CHANNEL_ID = "C0PARTNERS"
CHANNEL_NAME = "partnerships"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    tz: str = "Europe/London"


PEOPLE = (
    Person("U0ALEX", "alex", "Alex Morgan"),
    Person("U0SAM", "sam", "Sam Patel"),
    Person("U0JO", "jo", "Jo Williams"),
)


@dataclass(frozen=True)
class Secrets:
    """What Slack and the bot would share: the bot token and the request signing secret."""

    bot_token: str
    signing_secret: str

    @classmethod
    def made_up(cls) -> Secrets:
        return cls(f"xoxb-sandbox-{secrets.token_hex(12)}", secrets.token_hex(16))


def new_workspace(keys: Secrets) -> FakeSlack:
    """A started fake Slack with the sandbox's people and channel (the bot is in it)."""
    fake = FakeSlack(bot_token=keys.bot_token, team_id=TEAM_ID).start()
    for person in PEOPLE:
        fake.add_user(person.id, tz=person.tz, real_name=person.real_name, name=person.name)
    fake.add_channel(CHANNEL_ID, CHANNEL_NAME, members=[p.id for p in PEOPLE], bot_member=True)
    return fake
