"""The episode loop shared by `r1ci run`, the benchmark runner and the trainers: reset, then
alternate agent turns and environment steps until the episode ends, and record what happened."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .base import Agent


@dataclass
class Episode:
    """One finished episode, JSON-serialisable through `to_dict()`."""

    task: str
    instance_id: str
    seed: int
    transcript: str
    answer: str | None
    reward: float
    code_calls: int
    turns: int
    terminated: bool
    truncated: bool
    seconds_agent: float = 0.0
    seconds_env: float = 0.0
    exec_errors: int = 0
    exec_timeouts: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_episode(env: Any, agent: Agent, seed: int) -> Episode:
    """Play one episode of `env` (a gymnasium env of this library) with `agent` from `seed`."""
    started = time.perf_counter()
    observation, info = env.reset(seed=seed)
    seconds_env = time.perf_counter() - started
    agent.reset(observation, info, env)
    seconds_agent = 0.0
    reward, turns, errors, timeouts = 0.0, 0, 0, 0
    terminated = truncated = False
    while not (terminated or truncated):
        tick = time.perf_counter()
        action = agent.act(observation, info)
        tock = time.perf_counter()
        observation, reward, terminated, truncated, info = env.step(action)
        seconds_agent += tock - tick
        seconds_env += time.perf_counter() - tock
        turns += 1
        result = info.get("exec_result")
        if result:
            errors += result["exit_code"] != 0 and not result["timed_out"]
            timeouts += result["timed_out"]
    unwrapped = env.unwrapped
    return Episode(
        task=info["task"],
        instance_id=info["instance_id"],
        seed=seed,
        transcript=unwrapped.transcript,
        answer=info.get("answer"),
        reward=float(reward),
        code_calls=info["code_calls"],
        turns=turns,
        terminated=terminated,
        truncated=truncated,
        seconds_agent=seconds_agent,
        seconds_env=seconds_env,
        exec_errors=errors,
        exec_timeouts=timeouts,
        info={k: info[k] for k in ("category", "source", "split", "correct") if k in info},
    )
