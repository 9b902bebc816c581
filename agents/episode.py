"""The episode loop shared by `r1ci run`, `r1ci bench` and the trainers: reset the env, hand the prompt
to the agent, then alternate agent turns and environment steps until the episode ends, and record what
happened, turn by turn (`Episode`; its `to_dict()` is the JSON line `r1ci bench` writes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .base import Agent
from .errors import AgentError


class EpisodeInterrupted(Exception):
    """`run_episode` was asked to stop between two turns; the unfinished episode is not recorded."""


@dataclass
class Episode:
    """One finished episode, JSON-serialisable through `to_dict()`.

    `prompt` is the first user message as the model saw it; `turns` holds one dict per model turn:
    `model` (the text the env kept), `observation` (the program output shown next, None on the last
    turn), `stop_reason` (why generation stopped, as the agent reported it: "fence", "eos", "length",
    "stop", ...; None for agents that do not generate) and `completion_tokens` (None when unknown).
    `gold` and `metadata` are the instance's; `conversation` says how the agent showed observations to
    the model (`Agent.conversation`). Token counts are the episode's totals as the agent reports them.
    """

    task: str
    instance_id: str
    seed: int
    prompt: str
    turns: list[dict[str, Any]]
    answer: str | None
    gold: Any
    reward: float
    correct: bool
    code_calls: int
    num_turns: int
    terminated: bool
    truncated: bool
    category: str | None = None
    source: str | None = None
    split: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    conversation: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds_agent: float = 0.0
    seconds_env: float = 0.0
    exec_errors: int = 0
    exec_timeouts: int = 0
    agent_stats: dict[str, Any] = field(default_factory=dict)

    @property
    def transcript(self) -> str:
        """Prompt, model text and observations joined in order, as the env's `transcript`."""
        return self.prompt + "".join(t["model"] + (t["observation"] or "") for t in self.turns)

    def to_dict(self) -> dict[str, Any]:
        """The fields, plus `transcript` (derived; kept for readers of older records and for grep)."""
        return {**asdict(self), "transcript": self.transcript}


def completion_tokens(stats: dict[str, Any]) -> int | None:
    """Tokens the model generated so far in the episode, from an agent's `episode_stats`."""
    value = stats.get("completion_tokens", stats.get("sampled_tokens"))
    return None if value is None else int(value)


def run_episode(
    env: Any,
    agent: Agent,
    seed: int,
    *,
    should_stop: Callable[[], bool] | None = None,
    on_turn: Callable[[dict[str, Any]], None] | None = None,
) -> Episode:
    """Play one episode of `env` (a gymnasium env of this library) with `agent` from `seed`.

    `should_stop()` is asked before every turn; when it says True the episode stops there with
    `EpisodeInterrupted`. `on_turn(turn)` is called after every turn (progress reporting)."""
    started = time.perf_counter()
    observation, info = env.reset(seed=seed)
    seconds_env = time.perf_counter() - started
    unwrapped = env.unwrapped
    prompt = observation
    try:
        agent.reset(observation, info, env)
        seconds_agent = 0.0
        reward, errors, timeouts = 0.0, 0, 0
        terminated = truncated = False
        turn_facts: list[dict[str, Any]] = []
        while not (terminated or truncated):
            if should_stop is not None and should_stop():
                raise EpisodeInterrupted(f"{info['task']} seed {seed} stopped after {len(turn_facts)} turn(s)")
            before = completion_tokens(agent.episode_stats)
            tick = time.perf_counter()
            action = agent.act(observation, info)
            tock = time.perf_counter()
            observation, reward, terminated, truncated, info = env.step(action)
            seconds_agent += tock - tick
            seconds_env += time.perf_counter() - tock
            facts = _turn_facts(agent.episode_stats, len(turn_facts), before)
            turn_facts.append(facts)
            result = info.get("exec_result")
            if result:
                errors += result["exit_code"] != 0 and not result["timed_out"]
                timeouts += result["timed_out"]
            if on_turn is not None:
                on_turn(facts)
    finally:
        agent.finish()
    stats = dict(agent.episode_stats)
    turns = [{"model": t.model, "observation": t.observation, **facts} for t, facts in zip(unwrapped.turns, turn_facts)]
    instance = unwrapped.instance
    return Episode(
        task=info["task"],
        instance_id=info["instance_id"],
        seed=seed,
        prompt=prompt,
        turns=turns,
        answer=info.get("answer"),
        gold=instance.gold,
        reward=float(reward),
        correct=bool(info.get("correct")),
        code_calls=info["code_calls"],
        num_turns=len(turns),
        terminated=terminated,
        truncated=truncated,
        category=info.get("category"),
        source=info.get("source"),
        split=info.get("split"),
        metadata=dict(instance.metadata),
        conversation=agent.conversation,
        prompt_tokens=None if stats.get("prompt_tokens") is None else int(stats["prompt_tokens"]),
        completion_tokens=completion_tokens(stats),
        seconds_agent=seconds_agent,
        seconds_env=seconds_env,
        exec_errors=errors,
        exec_timeouts=timeouts,
        agent_stats=stats,
    )


def _turn_facts(stats: dict[str, Any], index: int, tokens_before: int | None) -> dict[str, Any]:
    """The stop reason and generated-token count of turn `index`, from the agent's episode stats."""
    reasons = stats.get("stop_reasons") or []
    after = completion_tokens(stats)
    return {
        "stop_reason": reasons[index] if index < len(reasons) else None,
        "completion_tokens": None if after is None else after - (tokens_before or 0),
    }


def is_retryable(exc: BaseException) -> bool:
    """An infrastructure failure worth another attempt with a fresh env and agent: a sandbox failure, or
    an agent backend failure that is neither fatal, a definite HTTP answer, nor an unreachable endpoint."""
    if isinstance(exc, AgentError):
        return not (exc.fatal or exc.unreachable) and exc.status is None
    from r1ci_env.sandbox import SandboxError

    return isinstance(exc, SandboxError)


def play_with_retries(
    make_env: Callable[[], Any],
    make_agent: Callable[[], Agent],
    seed: int,
    *,
    retries: int,
    retry_delay: float = 1.0,
    on_error: Callable[[BaseException, int, bool], None] | None = None,
    **episode_options: Any,
) -> tuple[Episode, int]:
    """Play one episode, retrying infrastructure failures (`is_retryable`) up to `retries` times with a
    fresh env and agent. Returns (episode, attempts). `on_error(exc, attempt, final)` sees every failed
    attempt; the last failure is raised. `episode_options` go to `run_episode`."""
    from r1ci_env.sandbox import SandboxError

    attempt = 0
    while True:
        attempt += 1
        env = None
        try:
            env = make_env()
            return run_episode(env, make_agent(), seed, **episode_options), attempt
        except (SandboxError, AgentError) as exc:
            final = not is_retryable(exc) or attempt > retries
            if on_error is not None:
                on_error(exc, attempt, final)
            if final:
                raise
            stop = episode_options.get("should_stop")
            if stop is not None and stop():
                raise EpisodeInterrupted(f"seed {seed}: stopped before retry {attempt}") from exc
            time.sleep(retry_delay * attempt)
        finally:
            if env is not None:
                env.close()
