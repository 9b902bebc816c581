"""The null agent: gives up at once without code or answer. Every episode scores 0.0 (a floor check)."""

from __future__ import annotations

from typing import Any

from .base import Agent


class NullAgent(Agent):
    name = "null"

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return "I cannot solve this."
