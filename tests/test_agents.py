"""Agents behind one interface: `make_agent` specs and options, the human agent (piped stdin), one agent
per concurrent episode (`fresh_agent`), the vLLM agent's batching (with a stand-in engine: vLLM is GPU
only) and `r1ci run` with every spec and prompt style."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import gymnasium as gym
import pytest

import r1ci_env  # noqa: F401 - registers the environments
from agents import HumanAgent, NullAgent, OracleAgent, fresh_agent, make_agent, parse_agent_spec, run_episode
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


@pytest.mark.parametrize(
    "spec, parsed",
    [
        ("oracle", ("oracle", "")),
        ("null", ("null", "")),
        ("human", ("human", "")),
        ("hf:/models/tiny", ("hf", "/models/tiny")),
        ("openai:gpt-4o", ("openai", "gpt-4o")),
        ("openai:org/model:tag", ("openai", "org/model:tag")),
        ("vllm:Qwen/Qwen2.5-7B", ("vllm", "Qwen/Qwen2.5-7B")),
        ("OpenAI:m", ("openai", "m")),
    ],
)
def test_parse_agent_spec(spec, parsed):
    assert parse_agent_spec(spec) == parsed


@pytest.mark.parametrize(
    "spec, message",
    [
        ("gpt4", "unknown agent spec"),
        ("hf", "needs a model path"),
        ("openai:", "needs a model name"),
        ("oracle:x", "takes no argument"),
    ],
)
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


def test_run_episode_stops_between_turns_when_asked_and_releases_the_agent():
    from agents.episode import EpisodeInterrupted

    class Counting(OracleAgent):
        finished = 0

        def finish(self):
            self.finished += 1

    agent, turns = Counting(), []
    with pytest.raises(EpisodeInterrupted, match="after 1 turn"):
        run_episode(local_env(), agent, 0, should_stop=lambda: len(turns) >= 1, on_turn=turns.append)
    assert len(turns) == 1 and agent.finished == 1  # the first turn ran to its end; the second never started
    episode = run_episode(local_env(), agent, 0, should_stop=lambda: False)
    assert episode.num_turns == 2 and episode.reward == 1.0 and agent.finished == 2
    assert episode.prompt + episode.turns[0]["model"] + episode.turns[0]["observation"] in episode.transcript
    assert episode.answer == str(episode.gold) and episode.metadata == local_env().unwrapped.task.generate(0).metadata


def test_human_agent_reads_turns_until_a_dot_line():
    answer = gold("NumberMultiply", 3)
    typed = f"Let me check.\n{FENCE}python\nprint(6 * 7)\n{FENCE}\n.\nSo the answer is <<<{answer}>>>\n.\n"
    shown = io.StringIO()
    agent = HumanAgent(input=io.StringIO(typed), output=shown)
    episode = run_episode(local_env(), agent, seed=3)
    assert episode.reward == 1.0 and episode.code_calls == 1 and episode.num_turns == 2
    screen = shown.getvalue()
    assert "Multiply these integers" in screen  # the prompt was shown
    assert "Code Execution Results:\n42" in screen  # and the observation
    assert screen.count("your turn") == 2
    assert "your turn 1, 5 code run(s) left" in screen and "your turn 2, 4 code run(s) left" in screen


def test_human_agent_asks_before_ending_without_an_answer():
    answer = gold("NumberMultiply", 3)
    typed = f"hmm, no idea\n.\nn\nthen <<<{answer}>>>\n.\n"
    shown = io.StringIO()
    episode = run_episode(local_env(), HumanAgent(input=io.StringIO(typed), output=shown), seed=3)
    assert episode.reward == 1.0 and episode.num_turns == 1 and "End it? [y/N]" in shown.getvalue()
    typed = "I give up\n.\ny\n"
    episode = run_episode(local_env(), HumanAgent(input=io.StringIO(typed), output=io.StringIO()), seed=3)
    assert episode.reward == 0.0 and episode.answer is None and episode.turns[0]["model"] == "I give up"


def test_human_agent_at_end_of_input_ends_the_episode():
    agent = HumanAgent(input=io.StringIO(""), output=io.StringIO())
    episode = run_episode(local_env(), agent, seed=0)
    assert episode.reward == 0.0 and episode.num_turns == 1 and episode.answer is None


def test_human_plays_through_r1ci_run_with_piped_stdin():
    answer = gold("NumberMultiply", 0)
    typed = f"{FENCE}python\nprint('hello from the human')\n{FENCE}\n.\n<<<{answer}>>>\n"  # EOF ends turn 2
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "run",
            "--task",
            "NumberMultiply",
            "--agent",
            "human",
            "--n",
            "1",
            "--sandbox",
            "local",
            "--quiet",
        ],
        input=typed,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Code Execution Results:\nhello from the human" in done.stdout
    assert "reward=1.0 code_calls=1" in done.stdout
    assert f"gold='{answer}'" in done.stdout


def test_human_plays_r1ci_bench_and_sees_the_gold_after_each_episode(tmp_path):
    typed = "I think <<<12>>>\n.\n" * 2
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "bench",
            "--agent",
            "human",
            "--tasks",
            "NumberMultiply",
            "--n",
            "2",
            "--sandbox",
            "local",
            "--out",
            str(tmp_path),
            "--concurrency",
            "4",
        ],
        input=typed,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    golds = [gold("NumberMultiply", seed) for seed in (0, 1)]
    assert [line for line in done.stdout.splitlines() if line.startswith("----- episode over")] == [
        f"----- episode over: reward 0, your answer '12', gold '{g}' -----" for g in golds
    ]
    assert "r1ci bench:" not in done.stderr  # no progress bar for a person at the terminal


# ------------------------------------------------------------------------------ r1ci run


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", "run", *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


BAD_INPUT = [
    (["run", "--task", "NoSuchTask"], "unknown task 'NoSuchTask'"),
    (["run", "--task", "NumberMultiply", "--n", "0"], "--n must be >= 1"),
    (["run", "--task", "NumberMultiply", "--max-code-calls", "-1"], "--max-code-calls must be >= 0"),
    (["run", "--task", "NumberMultiply", "--agent", "hf:/no/such/model"], "no model directory there"),
    (["run", "--task", "NumberMultiply", "--agent", "openai:"], "needs a model name"),
    (["run", "--task", "NumberMultiply", "--env-option", "nosuch=1"], "no generator setting 'nosuch'"),
    (["run", "--task", "NumberMultiply", "--env-option", "max_digits=-5"], "min_digits <= max_digits"),
    (["run", "--task", "NumberMultiply", "--env-option", "novalue"], "--env-option wants KEY=VALUE"),
    (["run", "--task", "NumberMultiply", "--import-module", "no_such_module_r1ci"], "No module named"),
    (["run", "--task", "NumberMultiply", "--agent-option", "seed=3"], "give --sampling-seed instead"),
    (["run", "--task", "NumberMultiply", "--code-timeout", "0", "--max-code-calls", "1"], "timeout must be > 0"),
    (["bench", "--agent", "oracle", "--tasks", "NoSuchTask"], "unknown task 'NoSuchTask'"),
    (["bench", "--agent", "oracle", "--suite", "nosuite"], "unknown suite"),
    (["bench", "--agent", "oracle", "--tasks", "NumberMultiply", "--n", "-2"], "--n must be >= 1"),
    (
        ["bench", "--agent", "oracle", "--tasks", "NumberMultiply", "--samples-per-question", "0"],
        "--samples-per-question must be >= 1",
    ),
    (["bench", "--agent", "oracle", "--tasks", "NumberMultiply", "--concurrency", "0"], "--concurrency must be >= 1"),
    (["bench", "--agent", "hf:./no/such/model", "--tasks", "NumberMultiply"], "no model directory there"),
    (["bench", "--agent", "bogus", "--tasks", "NumberMultiply"], "unknown agent spec"),
    (["bench", "--agent", "oracle", "--tasks", "NumberMultiply", "--agent-option", "x"], "--agent-option wants"),
    (
        ["bench", "--agent", "oracle", "--tasks", "NumberMultiply", "--env-option", "max_digits=-5"],
        "cannot make questions for NumberMultiply",
    ),
    (["bench", "--agent", "oracle"], "--agent and one of --suite / --tasks are required"),
    (["bench", "--report-only"], "--report-only needs --out"),
    (["list", "--task", "NoSuchTask"], "unknown task 'NoSuchTask'"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUT, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD_INPUT])
def test_bad_input_gives_one_line_and_a_non_zero_exit(argv, message, capsys, tmp_path):
    from agents.cli import main

    extra = ["--sandbox", "local"] if argv[0] != "list" and "--report-only" not in argv else []
    extra += (
        ["--out", str(tmp_path / "out"), "--no-progress"] if argv[0] == "bench" and "--report-only" not in argv else []
    )
    status = main(argv + extra)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and message in lines[0], captured.err
    assert lines[0].startswith(f"r1ci {argv[0]}: ") and "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out" / "episodes.jsonl").exists() or not (tmp_path / "out" / "episodes.jsonl").read_text()


def test_gym_ids_version_and_defaults_in_help():
    done = run_cli(
        "--task",
        "r1ci/NumberMultiply-v0",
        "--agent",
        "oracle",
        "--n",
        "1",
        "--sandbox",
        "local",
        "--quiet",
        "--env-option",
        "max_digits=2",
        "--env-option",
        "min_digits=2",
    )
    assert done.returncode == 0 and "reward=1.0" in done.stdout and "gold=" in done.stdout, done.stderr
    version = subprocess.run(
        [sys.executable, "-m", "agents.cli", "--version"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert version.returncode == 0 and version.stdout.startswith("r1ci ")
    helped = subprocess.run(
        [sys.executable, "-m", "agents.cli", "bench", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert "(default: 20)" in helped.stdout and "(default: code_interpreter)" in helped.stdout


def test_list_task_shows_knobs_defaults_and_an_example(capsys):
    from agents.cli import main

    assert main(["list", "--task", "r1ci/NumberMultiply-v0"]) == 0
    text = capsys.readouterr().out
    assert "max_digits" in text and "Multiply these integers" in text and "max_code_calls" in text
    assert main(["list", "--task", "NumberMultiply", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    knobs = {k["name"]: k["default"] for k in described["knobs"]}
    from r1ci_env.tasks import make_task

    assert knobs["max_digits"] == make_task("NumberMultiply").config.max_digits


def test_r1ci_run_prompt_styles_and_bad_specs():
    done = run_cli(
        "--task", "NumberMultiply", "--agent", "oracle", "--n", "1", "--sandbox", "local", "--prompt-style", "text_only"
    )
    assert done.returncode == 0, done.stderr
    # text_only allows no code: the oracle's block is not run, the episode is cut, reward 0.
    assert "reward=0.0 code_calls=0" in done.stdout and "Do not write or run any code" in done.stdout
    done = run_cli(
        "--task",
        "NumberMultiply",
        "--agent",
        "oracle",
        "--n",
        "1",
        "--sandbox",
        "local",
        "--quiet",
        "--prompt-style",
        "code_always",
    )
    assert done.returncode == 0 and "reward=1.0 code_calls=1" in done.stdout
    done = run_cli("--task", "NumberMultiply", "--agent", "gpt5", "--sandbox", "local")
    assert done.returncode == 2 and "unknown agent spec" in done.stderr
    done = run_cli("--task", "NumberMultiply", "--agent", "null", "--temperature", "0.5", "--sandbox", "local")
    assert done.returncode == 2 and "takes no options" in done.stderr
