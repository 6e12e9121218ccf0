"""The Slack side of the partnership check: settings, the Bolt app, storage and rendering."""
