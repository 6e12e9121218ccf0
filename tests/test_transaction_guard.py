"""The guard behind every end-to-end test: a Slack call inside a unit of work fails it."""

from __future__ import annotations

import pytest

from bot.core.actors import Actor
from bot.slack.services import Services, build_services, make_client
from tests.conftest import ALICE, TEAM_ID
from tests.slack_driver import BotServer
from tests.transaction_guard import guard


def test_a_notifier_called_inside_a_unit_of_work_is_caught(bot_server: BotServer) -> None:
    services = build_services(bot_server.settings, make_client(bot_server.settings))
    watch = guard(services)
    try:
        services.notify.dm_of(ALICE)  # outside: fine
        with services.db.session():
            services.notify.dm_of(ALICE)  # a Slack call (conversations.open) inside one
    finally:
        services.db.close()
    assert len(watch.violations) == 1
    assert watch.violations[0].startswith("conversations.open inside a unit of work")


def test_a_step_calls_slack_only_after_its_unit_of_work(bot_server: BotServer) -> None:
    """A whole start, with the notifier made to fail inside a unit of work: it never is."""
    services: Services = bot_server.services
    notify = services.notify

    class Failing:
        def __getattr__(self, name: str) -> object:
            method = getattr(notify, name)

            def call(*args: object, **kwargs: object) -> object:
                if services.db.in_unit_of_work:
                    pytest.fail(f"notifier.{name} called inside a unit of work")
                return method(*args, **kwargs)

            return call

    services.steps.notify = Failing()  # type: ignore[assignment]
    services.starting.notify = services.steps.notify
    services.starting.check(Actor(TEAM_ID, ALICE))
    assert services.starting.has_active(Actor(TEAM_ID, ALICE))
