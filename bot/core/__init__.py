"""The core: conversations, posting once, reviews, reminders and listing.

It knows nothing of Slack. It reads and writes through `bot.storage`, runs the flows of
`flows`, and tells people things through the notifier it is given (`bot.slack` gives one
that speaks Block Kit).
"""
