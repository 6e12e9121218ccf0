"""The `ack` half of a lazy listener that has nothing to say back: answer Slack at once."""

from slack_bolt import Ack


def acknowledge(ack: Ack) -> None:
    ack()
