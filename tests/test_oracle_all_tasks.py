"""Every registered task through the real episode loop and the Docker sandbox: the oracle agent
(reference solution run in the sandbox, then answered) scores 1.0 on 20 generated instances, and
the null agent scores 0.0."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import pytest

import r1ci_env  # noqa: F401 - registers the environments
from agents import NullAgent, OracleAgent, run_episode
from r1ci_env.tasks import task_names

pytestmark = pytest.mark.docker

EPISODES = 20


def play(task: str, agent_class, seeds, sandbox) -> list[float]:
    def one(seed: int) -> float:
        env = gym.make(f"r1ci/{task}-v0", sandbox=sandbox)
        try:
            return run_episode(env, agent_class(), seed).reward
        finally:
            env.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, seeds))


@pytest.mark.parametrize("task", task_names())
def test_oracle_scores_one_and_null_zero(task, docker_sandbox):
    assert play(task, OracleAgent, range(EPISODES), docker_sandbox) == [1.0] * EPISODES
    assert play(task, NullAgent, range(3), docker_sandbox) == [0.0] * 3
