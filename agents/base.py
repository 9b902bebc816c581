"""The agent interface: an agent reads observations and writes the model's next turn of text."""

from __future__ import annotations

import abc
import types
from collections.abc import Mapping
from typing import Any


class Agent(abc.ABC):
    """A policy over text. `reset` starts an episode with the prompt; `act` returns the next turn.

    `info` is the environment's info dict of the latest reset/step; `env` is the (unwrapped)
    environment, which only privileged agents such as the oracle look into.

    Optional parts, with their defaults here:
    - `conversation`: how observations reach the model, recorded with each episode:
      "assistant_continuation" (they are appended to the one growing assistant message, the R1-CI
      shape), "chat_messages" (each is a separate user message), or None (no model: oracle, null).
    - `seed`: the sampling seed of the current episode; the benchmark sets it on each agent it spawns.
    - `episode_stats`: token counts (`prompt_tokens`, `completion_tokens`) and `stop_reasons` (one
      per turn) of the current episode, for the record.
    - `interactive`: a person at the terminal (one episode at a time, no progress bar).
    - `finish()`: the episode needs no more turns (called once it ends, however it ends).
    """

    name: str = "agent"
    conversation: str | None = None
    seed: int | None = None
    interactive: bool = False
    episode_stats: Mapping[str, Any] = types.MappingProxyType({})

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        """Start a new episode."""

    @abc.abstractmethod
    def act(self, observation: str, info: dict[str, Any]) -> str:
        """The next turn of model text, given the latest observation."""

    def finish(self) -> None:
        """The episode is over (or abandoned): release what it holds. Idempotent."""
