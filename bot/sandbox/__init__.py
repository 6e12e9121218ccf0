"""Slack played locally: the strict fake of Slack's Web API (the tests' and the sandbox's)
and the sandbox, a page on 127.0.0.1 where the real bot can be tried with no workspace.

An adapter beside bot.slack: nothing in bot.core, bot.storage or flows imports it.
"""
