"""The floor for bench/step_floor.py: a bare Bolt app doing what one step of the bot does
in Slack, and nothing else.

For each message in a DM it acknowledges at once and then, on a pool, makes the same two
Web API calls a step makes: `chat.update` of the message it posted last in that DM, and
`chat.postMessage` of a question-sized message. Served by the bot's own front door
(bot/slack/http_server.py: waitress, the signature check on raw bytes), so the two
differ only in what the bot itself does. No database, no flow.

Run by the bench: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL and PORT.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.http_server import create_http_server

QUESTION = [
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Be selective* · 1 of 20"}]},
    {"type": "section", "text": {"type": "mrkdwn", "text": "What is the partnership called?"}},
    {
        "type": "actions",
        "block_id": "nav",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": t},
                "action_id": a,
                "value": v,
            }
            for t, a, v in (("Back", "back", "1.2."), ("Cancel check", "cancel", "1.2."))
        ],
    },
]
CLOSED = [{"type": "section", "text": {"type": "mrkdwn", "text": "~What is it called?~"}}]


def main() -> None:
    secret = os.environ["SLACK_SIGNING_SECRET"]
    # Taken out of the environment: Bolt would read it again and warn that it is unused.
    client = WebClient(
        token=os.environ.pop("SLACK_BOT_TOKEN"), base_url=os.environ["SLACK_API_URL"]
    )
    app = App(signing_secret=secret, client=client, process_before_response=True)
    pool = ThreadPoolExecutor(max_workers=16)
    last: dict[str, str] = {}  # the DM's last post, closed by the next step
    lock = threading.Lock()

    def step(channel: str) -> None:
        with lock:
            previous = last.get(channel)
        if previous:
            client.chat_update(channel=channel, ts=previous, text="Answered", blocks=CLOSED)
        posted = client.chat_postMessage(channel=channel, text="A question", blocks=QUESTION)
        with lock:
            last[channel] = posted["ts"]

    @app.event("message")
    def message(ack: Ack, event: dict[str, Any]) -> None:
        ack()
        if event.get("channel_type") == "im" and not event.get("bot_id"):
            pool.submit(step, event["channel"])

    server = create_http_server(app, signing_secret=secret, port=int(os.environ["PORT"]))
    server.run()


if __name__ == "__main__":
    main()
