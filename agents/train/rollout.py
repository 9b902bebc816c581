"""Rollouts of the HF policy through the environments, policy evaluation and the code-use health numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from r1ci_env import protocol
from r1ci_env.sandbox import DEFAULT_TIMEOUT as DEFAULT_CODE_TIMEOUT
from r1ci_env.sandbox import SandboxError
from r1ci_env.tokens import EpisodeRecord

from ..episode import run_episode
from ..hf import HFAgent
from .dist import all_reduce_dict, dist_info


@dataclass
class Job:
    """One episode to play: a task (a name or a zero-argument env factory key), an instance seed, and
    the seed of the sampler's random stream for this episode."""

    task: str
    seed: int
    sample_seed: int | None = None


def rollout(
    backend,
    make_env: Callable[[str], Any],
    jobs: Sequence[Job],
    *,
    temperature: float = 1.0,
    top_p: float = 1.0,
    max_new_tokens: int = 1024,
    max_total_tokens: int = 4096,
    system_prompt: str | None = None,
    concurrency: int = 64,
    retries: int = 2,
) -> list[tuple[Any, EpisodeRecord]]:
    """Play `jobs` with the HF policy behind `backend`, `concurrency` episodes at a time, each in a
    thread running `agents.run_episode` (the same loop as `r1ci run` and the benchmark), so the
    backend batches whatever turns are pending. Returns (Episode, EpisodeRecord) per job, in order.
    Sandbox failures (infrastructure, not the model) are retried up to `retries` times."""

    def play(job: Job):
        for attempt in range(retries + 1):
            env = make_env(job.task)
            agent = HFAgent(
                backend,
                temperature=temperature,
                top_p=top_p,
                max_new_tokens=max_new_tokens,
                max_total_tokens=max_total_tokens,
                system_prompt=system_prompt,
                seed=job.sample_seed,
            )
            try:
                episode = run_episode(env, agent, job.seed)
                return episode, agent.episode_record(episode)
            except SandboxError:
                if attempt == retries:
                    raise
            finally:
                agent.finish()
                env.close()

    if concurrency <= 1 or len(jobs) <= 1:
        return [play(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs)), thread_name_prefix="rollout") as pool:
        return list(pool.map(play, jobs))


def env_factory(
    *,
    sandbox: str = "docker",
    max_code_calls: int = protocol.DEFAULT_MAX_CODE_CALLS,
    timeout: float = DEFAULT_CODE_TIMEOUT,
    max_observation_chars: int = protocol.DEFAULT_MAX_OBSERVATION_CHARS,
    prompt: str = protocol.DEFAULT_PROMPT_STYLE,
    custom: str | None = None,
) -> Callable[[str], Any]:
    """task name -> a fresh env with these settings, via `gym.make("r1ci/<task>-v0")`, or via a custom
    factory `custom="module:function"` called as function(task, **settings)."""
    import importlib

    options = dict(
        sandbox=sandbox, max_code_calls=max_code_calls, timeout=timeout, max_observation_chars=max_observation_chars
    )
    if prompt != protocol.DEFAULT_PROMPT_STYLE:
        options["prompt"] = prompt
    if custom:
        module, _, name = custom.partition(":")
        factory = getattr(importlib.import_module(module), name)
        return lambda task: factory(task, **options)

    import gymnasium as gym

    import r1ci_env

    return lambda task: gym.make(r1ci_env.env_id(task), **options)


def evaluate_policy(
    backend,
    make_env: Callable[[str], Any],
    tasks: Sequence[str],
    *,
    n: int = 8,
    temperature: float = 0.6,
    max_new_tokens: int = 1024,
    max_total_tokens: int = 4096,
    system_prompt: str | None = None,
    concurrency: int = 64,
    seed_base: int = 10**9,
) -> dict[str, Any]:
    """`n` episodes per task on seeds `seed_base + i` (disjoint from training's), split over ranks;
    mean reward and code-use health over all ranks, plus the mean reward per task."""
    jobs = [Job(task, seed_base + i, 7_000_000 + 1000 * ti + i) for ti, task in enumerate(tasks) for i in range(n)]
    rank, world = dist_info()
    results = rollout(
        backend,
        make_env,
        jobs[rank::world],
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        max_total_tokens=max_total_tokens,
        system_prompt=system_prompt,
        concurrency=concurrency,
    )
    episodes = [e for e, _ in results]
    health = code_use_health(episodes)
    keys = ["reward", "code_share", "calls_per_episode", "error_rate", "timeout_rate"]
    sums = all_reduce_dict({**{k: health[k] * health["episodes"] for k in keys}, "episodes": health["episodes"]})
    total = max(sums["episodes"], 1)
    out: dict[str, Any] = {f"eval/{k}": sums[k] / total for k in keys}
    out["eval/episodes"] = sums["episodes"]
    per_task: dict[str, list[float]] = {}
    for e in episodes:
        per_task.setdefault(e.task, []).append(e.reward)
    out["eval/per_task"] = {t: sum(r) / len(r) for t, r in per_task.items()}  # this rank's episodes
    return out


def code_use_health(episodes: Sequence[Any]) -> dict[str, float]:
    """Mean reward and code-use health: share of episodes with code, code calls per episode, the share
    of code runs that raised / timed out, and how episodes ended."""
    n = max(len(episodes), 1)
    calls = sum(e.code_calls for e in episodes)
    return {
        "reward": sum(e.reward for e in episodes) / n,
        "episodes": float(len(episodes)),
        "code_share": sum(e.code_calls > 0 for e in episodes) / n,
        "calls_per_episode": calls / n,
        "error_rate": sum(e.exec_errors for e in episodes) / max(calls, 1),
        "timeout_rate": sum(e.exec_timeouts for e in episodes) / max(calls, 1),
        "truncated_share": sum(bool(e.truncated) for e in episodes) / n,
        "answered_share": sum(e.answer is not None for e in episodes) / n,
    }
