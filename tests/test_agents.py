"""Agents behind one interface: `make_agent` specs and options, the human agent (piped stdin), one agent
per concurrent episode (`fresh_agent`), the vLLM agent's batching (with a stand-in engine: vLLM is GPU
only) and `r1ci run` with every spec and prompt style."""
from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import threading
from pathlib import Path

import gymnasium as gym
import pytest

import r1ci_env  # noqa: F401 - registers the environments
from agents import (HumanAgent, NullAgent, OracleAgent, fresh_agent, make_agent, parse_agent_spec,
                    run_episode)
from agents.openai_agent import OpenAIAgent
from agents.vllm_agent import INSTALL_HINT

REPO = Path(__file__).resolve().parent.parent
FENCE = "`" * 3


def local_env(task: str = "NumberMultiply", **kwargs):
    return gym.make(f"r1ci/{task}-v0", sandbox="local", **kwargs)


def gold(task: str, seed: int) -> str:
    env = local_env(task)
    env.reset(seed=seed)
    return str(env.unwrapped.instance.gold)


# ------------------------------------------------------------------------------ specs


@pytest.mark.parametrize("spec, parsed", [
    ("oracle", ("oracle", "")), ("null", ("null", "")), ("human", ("human", "")),
    ("hf:/models/tiny", ("hf", "/models/tiny")), ("openai:gpt-4o", ("openai", "gpt-4o")),
    ("openai:org/model:tag", ("openai", "org/model:tag")), ("vllm:Qwen/Qwen2.5-7B", ("vllm", "Qwen/Qwen2.5-7B")),
    ("OpenAI:m", ("openai", "m")),
])
def test_parse_agent_spec(spec, parsed):
    assert parse_agent_spec(spec) == parsed


@pytest.mark.parametrize("spec, message", [
    ("gpt4", "unknown agent spec"), ("hf", "needs a model path"), ("openai:", "needs a model name"),
    ("oracle:x", "takes no argument"),
])
def test_bad_specs_are_rejected(spec, message):
    with pytest.raises(ValueError, match=message):
        make_agent(spec)


def test_make_agent_builds_each_kind():
    assert isinstance(make_agent("oracle"), OracleAgent)
    assert isinstance(make_agent("null"), NullAgent)
    assert isinstance(make_agent("human"), HumanAgent)
    agent = make_agent("openai:m", base_url="http://127.0.0.1:9/v1", temperature=0.2, max_tokens=5)
    assert isinstance(agent, OpenAIAgent) and agent.sampling["max_tokens"] == 5
    with pytest.raises(TypeError, match="takes no options"):
        make_agent("oracle", temperature=0.5)
    with pytest.raises(TypeError):
        make_agent("openai:m", bogus=1)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_spec_without_vllm_says_how_to_install():
    with pytest.raises(ImportError, match=r"r1ci\[vllm\]"):
        make_agent("vllm:/models/tiny")
    assert "GPU" in INSTALL_HINT


# ------------------------------------------------------------------------------ one agent per episode


def test_fresh_agent_spawns_or_copies():
    oracle = OracleAgent()
    copy = fresh_agent(oracle)
    assert isinstance(copy, OracleAgent) and copy is not oracle
    openai = OpenAIAgent("m", base_url="http://127.0.0.1:9/v1")
    twin = fresh_agent(openai)
    assert twin is not openai and twin.client is openai.client and twin.model == "m"


def test_copies_of_the_oracle_play_concurrent_episodes():
    base = OracleAgent()
    results = {}

    def play(seed):
        env = local_env()
        results[seed] = run_episode(env, fresh_agent(base), seed).reward
        env.close()

    threads = [threading.Thread(target=play, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}


# ------------------------------------------------------------------------------ human


def test_human_agent_reads_turns_until_a_dot_line():
    answer = gold("NumberMultiply", 3)
    typed = f"Let me check.\n{FENCE}python\nprint(6 * 7)\n{FENCE}\n.\nSo the answer is <<<{answer}>>>\n.\n"
    shown = io.StringIO()
    agent = HumanAgent(input=io.StringIO(typed), output=shown)
    episode = run_episode(local_env(), agent, seed=3)
    assert episode.reward == 1.0 and episode.code_calls == 1 and episode.turns == 2
    screen = shown.getvalue()
    assert "Multiply these integers" in screen  # the prompt was shown
    assert "Code Execution Results:\n42" in screen  # and the observation
    assert screen.count("your turn") == 2


def test_human_agent_at_end_of_input_ends_the_episode():
    agent = HumanAgent(input=io.StringIO(""), output=io.StringIO())
    episode = run_episode(local_env(), agent, seed=0)
    assert episode.reward == 0.0 and episode.turns == 1 and episode.answer is None


def test_human_plays_through_r1ci_run_with_piped_stdin():
    answer = gold("NumberMultiply", 0)
    typed = f"{FENCE}python\nprint('hello from the human')\n{FENCE}\n.\n<<<{answer}>>>\n"  # EOF ends turn 2
    done = subprocess.run([sys.executable, "-m", "agents.cli", "run", "--task", "NumberMultiply", "--agent", "human",
                           "--n", "1", "--sandbox", "local", "--quiet"],
                          input=typed, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Code Execution Results:\nhello from the human" in done.stdout
    assert "reward=1.0 code_calls=1" in done.stdout


# ------------------------------------------------------------------------------ r1ci run


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agents.cli", "run", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def test_r1ci_run_prompt_styles_and_bad_specs():
    done = run_cli("--task", "NumberMultiply", "--agent", "oracle", "--n", "1", "--sandbox", "local",
                   "--prompt-style", "text_only")
    assert done.returncode == 0, done.stderr
    # text_only allows no code: the oracle's block is not run, the episode is cut, reward 0.
    assert "reward=0.0 code_calls=0" in done.stdout and "Do not write or run any code" in done.stdout
    done = run_cli("--task", "NumberMultiply", "--agent", "oracle", "--n", "1", "--sandbox", "local", "--quiet",
                   "--prompt-style", "code_always")
    assert done.returncode == 0 and "reward=1.0 code_calls=1" in done.stdout
    done = run_cli("--task", "NumberMultiply", "--agent", "gpt5", "--sandbox", "local")
    assert done.returncode == 2 and "unknown agent spec" in done.stderr
    done = run_cli("--task", "NumberMultiply", "--agent", "null", "--temperature", "0.5", "--sandbox", "local")
    assert done.returncode == 2 and "takes no options" in done.stderr
