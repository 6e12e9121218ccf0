"""The Slack adapter: the Bolt app, its listeners, Block Kit rendering and the Web API.

It turns Slack's payloads into calls on `bot.core`, and the core's notices into messages.
"""
