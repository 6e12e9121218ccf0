"""The `/partnership` subcommands, in one table: the command listener, `help`, the App
Home and the usage hint all read it, so a new subcommand is one row here (and its
handling in bot/slack/listeners/commands.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str  # the first word after /partnership ("" for none)
    usage: str  # how to type it
    does: str  # what it does, for help
    aliases: tuple[str, ...] = ()


SUBCOMMANDS = (
    Subcommand("new", "/partnership new", "check a partnership, in a DM with me", ("", "start")),
    Subcommand("list", "/partnership list", "your checks and partnerships, with their reviews"),
    Subcommand(
        "review", "/partnership review P-12", "review partnership P-12 now (from its channel)"
    ),
    Subcommand(
        "recheck",
        "/partnership recheck P-12",
        "change the answers of your partnership P-12 and post its new verdict",
    ),
    Subcommand("cancel", "/partnership cancel", "cancel the check you have in progress"),
    Subcommand("help", "/partnership help", "how it works"),
)
BY_WORD = {word: sub for sub in SUBCOMMANDS for word in (sub.name, *sub.aliases)}


def usage() -> str:
    """One line naming every subcommand, for a reply to an unknown one."""
    return (
        "Try "
        + ", ".join(f"`{sub.usage}`" for sub in SUBCOMMANDS[:-1])
        + (f" or `{SUBCOMMANDS[-1].usage}`.")
    )


def usage_hint() -> str:
    """The slash command's usage hint in the app manifest (Slack shows it as you type)."""
    return "[" + " | ".join(sub.usage.removeprefix("/partnership ") for sub in SUBCOMMANDS) + "]"


def help_lines() -> str:
    return "\n".join(f"• `{sub.usage}`: {sub.does}" for sub in SUBCOMMANDS)
