"""Fixtures for the flows tests."""

from __future__ import annotations

import pytest

from flows import Flow, load_flow


@pytest.fixture(scope="session")
def flow() -> Flow:
    return load_flow("check")
