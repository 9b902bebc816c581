"""`r1ci bench`: output files and their fields, resume after a kill, infrastructure errors retried and
reported apart (never scored), the hf agent in-process, and the oracle at 100 % on the test suite
through the Docker sandbox beside the published references."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import r1ci_env  # noqa: F401 - registers the environments
from agents import Agent
from agents.bench import BenchError, repair_jsonl, run_bench
from agents.report import REFERENCES, read_jsonl
from r1ci_env.sandbox import ExecResult, Sandbox, SandboxError, make_sandbox
from r1ci_env.suites import suite
from r1ci_env.tasks import task_names

REPO = Path(__file__).resolve().parent.parent
FILES = ("episodes.jsonl", "errors.jsonl", "summary.md", "summary.csv", "plot.png", "manifest.json")
EPISODE_FIELDS = {
    "task",
    "seed",
    "sample",
    "sampling_seed",
    "instance_id",
    "prompt",
    "turns",
    "reward",
    "correct",
    "answer",
    "gold",
    "metadata",
    "conversation",
    "prompt_tokens",
    "completion_tokens",
    "code_calls",
    "num_turns",
    "terminated",
    "truncated",
    "exec_errors",
    "exec_timeouts",
    "category",
    "source",
    "split",
    "agent",
    "prompt_style",
    "attempts",
    "started_at",
    "seconds",
    "seconds_agent",
    "seconds_env",
}
TWO_TASKS = "NumberMultiply,Game24"


def bench_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", "bench", *args, "--no-progress"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def md_row(markdown: str, first: str) -> list[str]:
    """The cells of the markdown table row whose first cell is `first`."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r}")


def keys(path: Path) -> list[tuple[str, int]]:
    return [(e["task"], e["seed"]) for e in read_jsonl(path)]


def outcome(path: Path) -> set[tuple]:
    return {(e["task"], e["seed"], e["instance_id"], e["reward"], e["answer"]) for e in read_jsonl(path)}


def assert_real_plot(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(str(path))
    assert pixels.shape[0] > 150 and pixels.shape[1] > 400
    colours = {tuple(round(float(c), 2) for c in pixel[:3]) for pixel in pixels.reshape(-1, pixels.shape[-1])[::7]}
    assert len(colours) > 20  # bars, markers, text: not a blank image


# ------------------------------------------------------------------------------ outputs


def test_oracle_run_writes_every_file(tmp_path):
    result = run_bench(
        "oracle",
        out=tmp_path,
        tasks=TWO_TASKS,
        n=3,
        seed=5,
        concurrency=4,
        sandbox="local",
        progress=False,
        argv=["bench", "--test"],
    )
    assert (result.episodes_run, result.episodes_skipped, result.errors, result.lost) == (6, 0, 0, 0)
    for name in FILES:
        assert (tmp_path / name).is_file(), name
    episodes = read_jsonl(tmp_path / "episodes.jsonl")
    assert sorted(keys(tmp_path / "episodes.jsonl")) == [
        (t, s) for t in ("Game24", "NumberMultiply") for s in (5, 6, 7)
    ]
    for episode in episodes:
        assert EPISODE_FIELDS <= set(episode)
        assert episode["reward"] == 1.0 and episode["correct"] and episode["code_calls"] == 1
        assert [t["observation"] is None for t in episode["turns"]] == [False, True] and episode["agent"] == "oracle"
        assert episode["turns"][0]["observation"].startswith("\nCode Execution Results:")
        assert episode["answer"] == str(episode["gold"]) or episode["task"] == "Game24"
        assert episode["conversation"] is None and episode["sample"] == 0
    summary = (tmp_path / "summary.md").read_text()
    assert "**pass@1 (macro average over tasks): 100.0 ± 0.0 %**" in summary
    assert "pub. GPT-4o text %" in summary and "pub. GPT-4o + CI %" in summary and "published references" in summary
    assert md_row(summary, "NumberMultiply")[:6] == [
        "NumberMultiply",
        "test",
        "symbench",
        "execution",
        "3x1",
        "100.0 ± 0.0",
    ]
    assert md_row(summary, "NumberMultiply")[-2:] == ["11", "75"]  # the published references, beside it
    assert "episodes lost after every retry: 0" in summary
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    task_rows = {r["name"]: r for r in rows if r["level"] == "task"}
    assert set(task_rows) == {"NumberMultiply", "Game24"} and task_rows["Game24"]["ref_gpt4o_ci"] == "18"
    assert float(task_rows["Game24"]["accuracy"]) == 1.0
    assert {r["level"] for r in rows} == {"task", "all", "split", "source", "category"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["agent"] == "oracle" and manifest["seed"] == 5 and manifest["n"] == 3
    assert len(manifest["prompt_sha256"]) == 64 and manifest["max_code_calls"] == 5
    assert manifest["packages"]["gymnasium"] and manifest["sandbox"]["backend"] == "local"
    assert manifest["runs"][0]["argv"] == ["bench", "--test"] and manifest["runs"][0]["episodes_run"] == 6
    assert_real_plot(tmp_path / "plot.png")


def test_text_only_style_allows_no_code(tmp_path):
    run_bench(
        "oracle", out=tmp_path, tasks="NumberMultiply", n=2, sandbox="local", prompt_style="text_only", progress=False
    )
    episodes = read_jsonl(tmp_path / "episodes.jsonl")
    assert all(e["code_calls"] == 0 and e["truncated"] and e["reward"] == 0.0 for e in episodes)
    assert json.loads((tmp_path / "manifest.json").read_text())["max_code_calls"] == 0


def test_bad_arguments_and_report_only(tmp_path):
    done = bench_cli("--agent", "oracle", "--tasks", "NoSuchTask", "--sandbox", "local", "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "unknown task" in done.stderr
    done = bench_cli("--agent", "oracle", "--suite", "nosuite", "--sandbox", "local", "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "unknown suite" in done.stderr
    run_bench("oracle", out=tmp_path / "r", tasks="NumberMultiply", n=1, sandbox="local", progress=False)
    (tmp_path / "r" / "summary.md").unlink()
    done = bench_cli("--out", str(tmp_path / "r"), "--report-only")
    assert done.returncode == 0 and (tmp_path / "r" / "summary.md").is_file()


class SeedCoinAgent(Agent):
    """Answers right when its sampling seed is even, else wrong: outcomes that depend on the sample."""

    name = "seed-coin"

    def reset(self, prompt, info, env=None):
        self.gold = str(env.unwrapped.instance.gold)

    def act(self, observation, info):
        return f"<<<{self.gold if self.seed % 2 == 0 else 'wrong'}>>>"


def test_samples_per_question_give_pass_at_k_with_standard_errors(tmp_path):
    from agents.bench import sample_seed
    from agents.report import pass_at_k, standard_error

    result = run_bench(
        SeedCoinAgent(),
        out=tmp_path,
        tasks="NumberMultiply",
        n=5,
        samples=3,
        sampling_seed=7,
        sandbox="local",
        progress=False,
    )
    assert result.episodes_run == 15
    episodes = read_jsonl(tmp_path / "episodes.jsonl")
    assert sorted((e["seed"], e["sample"]) for e in episodes) == [(q, s) for q in range(5) for s in range(3)]
    for e in episodes:
        assert e["sampling_seed"] == sample_seed(7, "NumberMultiply", e["seed"], e["sample"])
        assert e["reward"] == (1.0 if e["sampling_seed"] % 2 == 0 else 0.0)
    assert len({e["sampling_seed"] for e in episodes}) == 15
    per_question = [[e["reward"] for e in episodes if e["seed"] == q] for q in range(5)]
    means = [sum(r) / 3 for r in per_question]
    row = result.summary["tasks"][0]
    assert row["questions"] == 5 and row["accuracy"] == pytest.approx(sum(means) / 5)
    assert row["stderr"] == pytest.approx(standard_error(means)) and row["stderr"] > 0
    assert row["pass_at_k"] == pytest.approx(sum(pass_at_k(3, int(sum(r)), 3) for r in per_question) / 5)
    assert row["maj_at_k"] == pytest.approx(sum(1.0 for r in per_question if sum(r) >= 2) / 5)
    summary = (tmp_path / "summary.md").read_text()
    assert "pass@3 %" in summary and "maj@3 %" in summary and md_row(summary, "NumberMultiply")[4] == "5x3"
    assert md_row(summary, "NumberMultiply")[5] == f"{100 * row['accuracy']:.1f} ± {100 * row['stderr']:.1f}"
    from agents.report import plot_bars

    labels, bars, errors = plot_bars(result.summary)
    assert labels == ["NumberMultiply (n=5x3)"] and bars == [pytest.approx(100 * row["accuracy"])]
    assert errors == [pytest.approx(196 * row["stderr"])]  # the 95 % interval drawn on the plot
    assert_real_plot(tmp_path / "plot.png")
    # resuming with more samples adds only the new ones, with the same derived seeds
    again = run_bench(
        SeedCoinAgent(),
        out=tmp_path,
        tasks="NumberMultiply",
        n=5,
        samples=4,
        sampling_seed=7,
        sandbox="local",
        progress=False,
        resume=True,
    )
    assert (again.episodes_run, again.episodes_skipped) == (5, 15)
    with pytest.raises(BenchError, match="sampling_seed"):
        run_bench(
            SeedCoinAgent(),
            out=tmp_path,
            tasks="NumberMultiply",
            n=5,
            samples=4,
            sampling_seed=8,
            sandbox="local",
            progress=False,
            resume=True,
        )


def test_pass_at_k_and_standard_error_by_hand():
    from agents.report import pass_at_k, standard_error

    assert pass_at_k(5, 1, 1) == pytest.approx(0.2) and pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert pass_at_k(5, 0, 3) == 0.0 and pass_at_k(5, 3, 3) == 1.0
    assert standard_error([0.0, 1.0]) == pytest.approx(0.5) and standard_error([1.0]) is None


def test_report_only_reads_records_written_before_turns_were_kept(tmp_path):
    old = {
        "task": "Game24",
        "seed": 0,
        "instance_id": "seed-0",
        "reward": 1.0,
        "correct": True,
        "answer": "x",
        "code_calls": 1,
        "turns": 2,
        "terminated": True,
        "truncated": False,
        "category": "planning",
        "source": "symbench",
        "split": "train",
        "seconds": 0.5,
        "transcript": "...",
    }
    (tmp_path / "episodes.jsonl").write_text(
        json.dumps(old) + "\n" + json.dumps({**old, "seed": 1, "reward": 0.0}) + "\n"
    )
    done = bench_cli("--out", str(tmp_path), "--report-only")
    assert done.returncode == 0, done.stderr
    row = md_row((tmp_path / "summary.md").read_text(), "Game24")
    assert row[4:6] == ["2x1", "50.0 ± 50.0"]


def test_resume_refuses_different_sampling_settings(tmp_path):
    from agents.bench import BenchRun

    options = {"base_url": "http://127.0.0.1:9", "temperature": 0.6, "max_tokens": 100}
    BenchRun("openai:m", out=tmp_path, tasks="NumberMultiply", n=1, sandbox="local", agent_options=options).prepare()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["generation"]["sampling"] == {"temperature": 0.6, "top_p": None, "max_tokens": 100}
    for change in ({"temperature": 1.0}, {"max_tokens": 200}):
        with pytest.raises(BenchError, match="cannot resume: generation"):
            BenchRun(
                "openai:m",
                out=tmp_path,
                tasks="NumberMultiply",
                n=1,
                sandbox="local",
                resume=True,
                agent_options={**options, **change},
            ).prepare()
    BenchRun(
        "openai:m", out=tmp_path, tasks="NumberMultiply", n=1, sandbox="local", resume=True, agent_options=options
    ).prepare()


# ------------------------------------------------------------------------------ resume


def test_run_killed_then_resumed_equals_an_uninterrupted_run(tmp_path):
    args = ["--agent", "oracle", "--tasks", TWO_TASKS, "--n", "10", "--concurrency", "1", "--sandbox", "local"]
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "bench", *args, "--out", str(killed), "--no-progress"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    episodes = killed / "episodes.jsonl"
    deadline = time.monotonic() + 300
    while not (episodes.exists() and episodes.read_bytes().count(b"\n") >= 3):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    written = keys(episodes)
    assert 3 <= len(written) < 20
    with episodes.open("a") as handle:  # what a kill in the middle of a write leaves
        handle.write('{"task": "Game24", "seed": 9, "instance_id": "seed-9", "rew')

    refused = bench_cli(*args, "--out", str(killed))
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = bench_cli(*args, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{20 - len(written)} episode(s) run, {len(written)} already done" in resumed.stdout
    full = bench_cli(*args, "--out", str(whole))
    assert full.returncode == 0, full.stderr

    resumed_keys = keys(episodes)
    assert len(resumed_keys) == len(set(resumed_keys)) == 20  # none repeated, none lost
    assert resumed_keys[: len(written)] == written  # the killed run's lines are kept as they were
    assert outcome(episodes) == outcome(whole / "episodes.jsonl")
    manifest = json.loads((killed / "manifest.json").read_text())
    assert [run["episodes_skipped"] for run in manifest["runs"]] == [0, len(written)]


def test_resume_checks_settings_and_extends_a_run(tmp_path):
    run_bench("oracle", out=tmp_path, tasks="NumberMultiply", n=2, sandbox="local", progress=False)
    with pytest.raises(BenchError, match="--resume"):
        run_bench("oracle", out=tmp_path, tasks="NumberMultiply", n=2, sandbox="local", progress=False)
    with pytest.raises(BenchError, match="prompt_style"):
        run_bench(
            "oracle",
            out=tmp_path,
            tasks="NumberMultiply",
            n=2,
            sandbox="local",
            progress=False,
            resume=True,
            prompt_style="code_always",
        )
    result = run_bench("oracle", out=tmp_path, tasks=TWO_TASKS, n=3, sandbox="local", progress=False, resume=True)
    assert (result.episodes_run, result.episodes_skipped) == (4, 2)
    assert sorted(keys(tmp_path / "episodes.jsonl")) == [(t, s) for t in ("Game24", "NumberMultiply") for s in range(3)]


def test_repair_cuts_only_a_partial_last_line(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n{"c":')
    assert repair_jsonl(path) == 5 and path.read_text() == '{"a": 1}\n{"b": 2}\n'
    assert repair_jsonl(path) == 0


# ------------------------------------------------------------------------------ errors


class FlakySandbox(Sandbox):
    """Fails (as infrastructure) on the first `failures` runs, then runs code locally."""

    backend = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.lock = threading.Lock()
        self.inner = make_sandbox("local")

    def run(self, code: str, timeout: float = 10.0) -> ExecResult:
        with self.lock:
            fail = self.failures > 0
            self.failures -= fail
        if fail:
            raise SandboxError("container died")
        return self.inner.run(code, timeout)

    def close(self) -> None:
        pass


def test_infra_errors_are_retried_and_reported_apart(tmp_path):
    result = run_bench(
        "oracle",
        out=tmp_path,
        tasks="NumberMultiply",
        n=3,
        concurrency=1,
        sandbox=FlakySandbox(2),
        retries=2,
        retry_delay=0.0,
        progress=False,
    )
    assert (result.episodes_run, result.lost, result.errors) == (3, 0, 2)
    assert all(e["reward"] == 1.0 for e in read_jsonl(tmp_path / "episodes.jsonl"))
    assert read_jsonl(tmp_path / "episodes.jsonl")[0]["attempts"] == 3
    errors = read_jsonl(tmp_path / "errors.jsonl")
    assert [(e["kind"], e["final"], e["attempt"]) for e in errors] == [("infra", False, 1), ("infra", False, 2)]
    assert "2 failed attempt(s); episodes lost after every retry: 0" in (tmp_path / "summary.md").read_text()


def test_episodes_the_sandbox_never_runs_are_not_scored(tmp_path):
    result = run_bench(
        "oracle",
        out=tmp_path,
        tasks="NumberMultiply",
        n=2,
        sandbox=FlakySandbox(10**6),
        retries=1,
        retry_delay=0.0,
        progress=False,
    )
    assert (result.episodes_run, result.lost) == (0, 2)
    assert read_jsonl(tmp_path / "episodes.jsonl") == []
    summary = (tmp_path / "summary.md").read_text()
    assert "episodes lost after every retry: 2" in summary and "Episodes not scored" in summary
    done = bench_cli("--out", str(tmp_path), "--report-only")  # the report still builds with no episode
    assert done.returncode == 0


class BuggyAgent(Agent):
    name = "buggy"

    def act(self, observation, info):
        raise ValueError("a bug in the agent")


def test_agent_bugs_are_recorded_not_scored_nor_retried(tmp_path):
    result = run_bench(BuggyAgent(), out=tmp_path, tasks="NumberMultiply", n=2, sandbox="local", progress=False)
    assert (result.episodes_run, result.lost, result.errors) == (0, 2, 2)
    errors = read_jsonl(tmp_path / "errors.jsonl")
    assert {e["kind"] for e in errors} == {"exception"} and "a bug in the agent" in errors[0]["traceback"]


# ------------------------------------------------------------------------------ hf agent in-process


@pytest.mark.slow
def test_hf_agent_bench_with_the_tiny_model(tmp_path):
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_qwen import save_tiny_model

    model = save_tiny_model(tmp_path / "tiny")
    texts = {}
    for name in ("bench", "again"):
        out = tmp_path / name
        result = run_bench(
            f"hf:{model}",
            out=out,
            tasks=TWO_TASKS,
            n=2,
            samples=2,
            concurrency=4,
            sandbox="local",
            progress=False,
            agent_options={"max_tokens": 24, "temperature": 1.0},
        )
        assert (result.episodes_run, result.errors) == (8, 0)
        episodes = read_jsonl(out / "episodes.jsonl")
        texts[name] = {(e["task"], e["seed"], e["sample"]): e["turns"][0]["model"] for e in episodes}
    for name in FILES:
        assert (out / name).is_file(), name
    assert sorted(texts["bench"]) == [(t, q, s) for t in ("Game24", "NumberMultiply") for q in (0, 1) for s in (0, 1)]
    assert texts["bench"] == texts["again"]  # every sample reproduces from its derived seed
    assert any(
        texts["bench"][(t, q, 0)] != texts["bench"][(t, q, 1)] for t in ("Game24", "NumberMultiply") for q in (0, 1)
    )  # and the samples of a question differ
    assert all(e["agent"] == f"hf:{model}" and e["num_turns"] == len(e["turns"]) >= 1 for e in episodes)
    assert all(e["conversation"] == "assistant_continuation" and e["completion_tokens"] >= 1 for e in episodes)
    assert all(t["stop_reason"] in ("fence", "eos", "length") for e in episodes for t in e["turns"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["agent_options"]["max_tokens"] == 24 and manifest["generation"]["max_new_tokens"] == 24
    assert manifest["generation"]["temperature"] == 1.0 and len(manifest["weights"]["sha256_sampled"]) == 64
    summary = (out / "summary.md").read_text()
    header = next(line for line in summary.split("## Per task", 1)[1].splitlines() if line.startswith("| task"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    for task in ("Game24", "NumberMultiply"):
        row = dict(zip(columns, md_row(summary, task)))
        mine = [e for e in episodes if e["task"] == task]
        assert row["completion tokens / ep"] == f"{sum(e['completion_tokens'] for e in mine) / len(mine):.0f}"
        reasons = [t["stop_reason"] for e in mine for t in e["turns"]]
        assert sum(int(part.split()[-1]) for part in row["stop reasons"].split(", ")) == len(reasons)


def summary_episodes(out: Path) -> int:
    """The number of episodes summary.md says it scored."""
    text = (out / "summary.md").read_text()
    return int(text.split("episodes scored: ", 1)[1].split(" ", 1)[0])


@pytest.mark.slow
def test_a_signal_stops_cleanly_a_second_one_at_once_and_resume_completes(tmp_path):
    """The hf agent on the tiny random Qwen2, greedy, so that every turn runs to --max-tokens: a slow
    stand-in for a real model whose turn length we control. Run 1: one SIGINT; the episodes in flight
    end after their current turn and the run exits by itself. Run 2 (turns of ~1000 tokens): two
    SIGTERMs; the process exits within seconds, mid-turn. Both leave summary.md matching
    episodes.jsonl, and --resume finishes run 1 with every episode exactly once. Run 3: a SIGKILL 1.5 s
    after a SIGTERM (a scheduler's grace period) still finds the summary up to date. (SIGINT and SIGTERM
    share one handler, so each path is run with one of them.)"""
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_qwen import save_tiny_model

    model = save_tiny_model(tmp_path / "tiny")
    for signum, signals, max_tokens, n in ((signal.SIGINT, 1, 200, 3), (signal.SIGTERM, 2, 1000, 2)):
        args = [
            "--agent",
            f"hf:{model}",
            "--tasks",
            TWO_TASKS,
            "--n",
            str(n),
            "--concurrency",
            "2",
            "--sandbox",
            "local",
            "--max-tokens",
            str(max_tokens),
            "--temperature",
            "0",
        ]
        out = tmp_path / f"run{signals}"
        process = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "bench", *args, "--out", str(out), "--no-progress"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        episodes = out / "episodes.jsonl"
        deadline = time.monotonic() + 300
        while not (episodes.exists() and episodes.read_bytes().count(b"\n") >= 2):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signum)
        sent = time.monotonic()
        if signals == 2:
            time.sleep(0.3)
            process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 128 + signum, stderr
        assert time.monotonic() - sent < (10 if signals == 2 else 60)
        assert "after their current turn" in stderr and "--resume" in stderr and "Traceback" not in stderr
        assert ("again: writing the reports" in stderr) == (signals == 2)
        written = keys(episodes)
        assert 2 <= len(written) < 2 * n and len(set(written)) == len(written)
        assert summary_episodes(out) == len(written)  # the summary is not stale
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["runs"][-1]["stopped"] == signal.Signals(signum).name
        assert all(e["turns"][-1]["stop_reason"] == "length" for e in read_jsonl(episodes))
        if signals == 1:  # (resuming after two signals is the same path)
            resumed = bench_cli(*args, "--out", str(out), "--resume")
            assert resumed.returncode == 0, resumed.stderr
            assert sorted(keys(episodes)) == sorted((t, s) for t in TWO_TASKS.split(",") for s in range(n))
            assert summary_episodes(out) == 2 * n
    # a scheduler's preemption: SIGTERM, then SIGKILL after a short grace period
    args[args.index("--max-tokens") + 1] = "1000"
    out = tmp_path / "preempted"
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "bench", *args, "--out", str(out), "--no-progress"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    episodes = out / "episodes.jsonl"
    while not (episodes.exists() and episodes.read_bytes().count(b"\n") >= 1):
        assert process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    process.kill()
    process.wait()
    assert summary_episodes(out) == len(keys(episodes))  # written at the SIGTERM, not stale at the SIGKILL


# ------------------------------------------------------------------------------ the test suite, Docker


@pytest.mark.docker
@pytest.mark.slow
def test_oracle_scores_100_on_the_test_suite_with_docker(tmp_path, docker_sandbox):
    present = [name for name in suite("test") if name in set(task_names())]
    # A generous code timeout: on a loaded machine a reference solution can stall past the default 10 s.
    done = bench_cli(
        "--agent",
        "oracle",
        "--suite",
        "test",
        "--n",
        "2",
        "--concurrency",
        "8",
        "--sandbox",
        "docker",
        "--code-timeout",
        "60",
        "--out",
        str(tmp_path),
        timeout=1200,
    )
    errors = (tmp_path / "errors.jsonl").read_text() if (tmp_path / "errors.jsonl").exists() else ""
    assert done.returncode == 0, done.stdout + done.stderr + errors
    episodes = read_jsonl(tmp_path / "episodes.jsonl")
    assert len(episodes) == 2 * len(present) and {e["task"] for e in episodes} == set(present)
    assert all(e["reward"] == 1.0 for e in episodes), [
        (e["task"], e["transcript"][-400:]) for e in episodes if e["reward"] != 1.0
    ]
    summary = (tmp_path / "summary.md").read_text()
    rows = {
        r["name"]: r
        for r in csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text()))
        if r["level"] == "task"
    }
    assert set(rows) == set(present) and all(float(r["accuracy"]) == 1.0 for r in rows.values())
    assert "pub. GPT-4o text %" in summary and "Published headline (R1-CI paper" in summary
    assert md_row(summary, "GPT-4o + Code Interpreter") == ["GPT-4o + Code Interpreter", "70.9"]
    for name in present:
        if name in REFERENCES:
            text, ci = REFERENCES[name]
            assert md_row(summary, name)[-2:] == [f"{text:g}", f"{ci:g}"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["suite"] == "test" and manifest["sandbox"]["image_digest"].startswith("sha256:")
    assert_real_plot(tmp_path / "plot.png")


# ------------------------------------------------------------------------------ examples


def test_new_task_example_runs(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "new_task.py"),
            "--sandbox",
            "local",
            "--n",
            "4",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "oracle on DigitSum: accuracy 100.0 % over 4 episodes" in done.stdout
    assert {e["task"] for e in read_jsonl(tmp_path / "episodes.jsonl")} == {"DigitSum"}


def test_custom_task_through_import_module_and_env_option(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "examples"), str(REPO)]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "bench",
            "--import-module",
            "new_task",
            "--tasks",
            "r1ci/DigitSum-v0",
            "--agent",
            "oracle",
            "--n",
            "3",
            "--env-option",
            "digits=12",
            "--sandbox",
            "local",
            "--no-progress",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    episodes = read_jsonl(tmp_path / "episodes.jsonl")
    assert len(episodes) == 3 and all(e["reward"] == 1.0 and len(e["metadata"]["number"]) == 12 for e in episodes)
    assert json.loads((tmp_path / "manifest.json").read_text())["env_options"] == {"digits": 12}
