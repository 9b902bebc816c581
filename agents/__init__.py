"""Agents that act in r1ci environments, the episode loop, and `make_agent` for `--agent` specs.

Note: the import name `agents` is also used by an unrelated PyPI package; install r1ci in its own
environment if you use that one too.
"""
from __future__ import annotations

from .base import Agent
from .episode import Episode, run_episode
from .null import NullAgent
from .oracle import OracleAgent

__all__ = ["Agent", "Episode", "NullAgent", "OracleAgent", "make_agent", "run_episode"]

_SIMPLE = {"oracle": OracleAgent, "null": NullAgent}


def make_agent(spec: str) -> Agent:
    """Build an agent from a spec such as `oracle` or `null`."""
    try:
        return _SIMPLE[spec]()
    except KeyError:
        raise ValueError(f"unknown agent spec {spec!r}; available: {', '.join(_SIMPLE)}") from None
