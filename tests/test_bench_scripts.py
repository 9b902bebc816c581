"""Smoke runs of the measurement scripts with tiny parameters: `r1ci sandbox bench` and
`bench/soak.py --quick`. They check that the scripts work end to end (exit 0, report tables printed),
not the numbers; the real measurements are run by hand (see the scripts' docstrings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import docker_unavailable

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent


def _run(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 and (
        "cannot reach the Docker daemon" in done.stderr or "not found on engine" in done.stderr
    ):
        docker_unavailable(done.stderr.strip().splitlines()[-1])
    return done


def test_sandbox_bench_runs_and_prints_its_tables(tmp_path):
    out = tmp_path / "bench.json"
    done = _run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "sandbox",
            "bench",
            "--n",
            "5",
            "--runs-per-level",
            "10",
            "--concurrency",
            "1,2",
            "--baseline-runs",
            "2",
            "--env-steps",
            "50",
            "--json",
            str(out),
        ],
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for header in (
        "# r1ci sandbox bench",
        "## Latency",
        "| program | runs | p50 ms | p95 ms | p99 ms |",
        "## Throughput",
        "| concurrency | runs | runs/s |",
        "## Pool cold start",
        "## Baselines",
        "docker exec",
        "docker run --rm",
        "## Ratios",
        "## Env overhead per step",
        "InstantSandbox",
        "## Remote: `r1ci sandbox serve`",
        "| 64 | remote (HTTP, 1 server) | 10 |",
    ):
        assert header in done.stdout, header
    report = json.loads(out.read_text())
    assert report["ok"] and [row["concurrency"] for row in report["throughput"]] == [1, 2]
    assert set(report["baselines"]) == {"docker exec", "docker run --rm"}
    assert list(report["remote"]["levels"]) == ["1", "8", "64"] and report["remote"]["throughput_ratio_c8"] > 0


def test_soak_quick_runs_and_prints_its_summary():
    done = _run([sys.executable, "bench/soak.py", "--quick", "--runs", "60"], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    for header in (
        "# r1ci sandbox soak",
        "## Checkpoints",
        "## By program",
        "## Summary",
        "| wrong outputs of normal runs | 0 | ok |",
        "| pool containers left after close | 0 | ok |",
        "Result: PASS",
    ):
        assert header in done.stdout, header
