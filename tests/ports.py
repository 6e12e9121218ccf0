"""Ports for servers a test starts on a port it must know beforehand.

A port found by binding port 0 and closing it again can be handed to anything else that
binds port 0 before the server takes it, and with the tests running in several processes
something always is: every fake Slack, every bot's HTTP server and every outgoing
connection. So these come from below the range the system hands out for port 0.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 20000


def port_nobody_is_handed() -> int:
    """A port free now, from below the system's ephemeral range."""
    first_ephemeral = _first_ephemeral()
    for port in random.sample(range(LOWEST, first_ephemeral), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port between {LOWEST} and {first_ephemeral}")


def _first_ephemeral() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default; macOS hands out 49152 and up
    return max(low, LOWEST + 1000)
