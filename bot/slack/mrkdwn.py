"""Making user text safe for Slack: escaping for mrkdwn and clipping to Block Kit limits."""

from __future__ import annotations

SECTION_TEXT = 3000
BUTTON_TEXT = 75
OPTION_TEXT = 75
HEADER_TEXT = 150
FALLBACK_TEXT = 3000


def escape(text: str) -> str:
    """Escape the three characters Slack parses in mrkdwn, so `<!channel>` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Typed text as the person typed it: Slack sends `&`, `<` and `>` in a message's
    text escaped, and the bot escapes whatever it shows, so it must not keep them so."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Never leave half an escape such as "&am" at the end.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
