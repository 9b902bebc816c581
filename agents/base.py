"""The agent interface: an agent reads observations and writes the model's next turn of text."""
from __future__ import annotations

import abc
from typing import Any


class Agent(abc.ABC):
    """A policy over text. `reset` starts an episode with the prompt; `act` returns the next turn.

    `info` is the environment's info dict of the latest reset/step; `env` is the (unwrapped)
    environment, which only privileged agents such as the oracle look into.
    """

    name: str = "agent"

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        """Start a new episode."""

    @abc.abstractmethod
    def act(self, observation: str, info: dict[str, Any]) -> str:
        """The next turn of model text, given the latest observation."""
