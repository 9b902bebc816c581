"""`r1ci sandbox bench`: measure the docker sandbox pool against plain Docker, in one run.

What one run measures, all on the same machine and in the same process:

* latency (host round trip of `sandbox.run`, sequential) of `print(1)`, a numpy snippet and a sympy
  snippet: p50 / p95 / p99;
* throughput (runs/s) of `print(1)` at several concurrency levels, from host threads;
* pool cold start: constructing a fresh pool until its first run has returned;
* memory: the proportional set size (PSS) of all processes of the pool's containers, read from the
  host's /proc, with the pool idle and with every slot running a program at once, per slot;
* baselines: `docker run --rm --network none IMAGE python3 -c "print(1)"` per call, and
  `docker exec CONTAINER python3 -c "print(1)"` per call into a plain long-lived container; their p50
  and their throughput at concurrency 1 and 8;
* ratios: our throughput at concurrency 8 over docker exec's (the design's target is >= 10x), and the
  baselines' p50 over ours; the pool is measured again right before each baseline level and the
  ratios use those pairs, because the load of a shared machine drifts over a run of minutes;
* remote: `print(1)` through `r1ci sandbox serve` (a child process with a pool of the same shape) and
  the `remote` client at concurrency 1, 8 and 64, each level right after the local pool at that level
  (p50, p99, runs/s; the target is at most a few ms added to p50 and >= 80% of the local throughput at
  concurrency 8); `--skip-remote` leaves it out;
* the env's own cost per step with execution excluded: `CodeInterpreterEnv.step` timed with
  `InstantSandbox`, a stub whose `run()` returns a fixed result at once (used only here, to take the
  sandbox out of the measurement).

Every output is checked; a wrong output or an infrastructure error makes the exit status 1. All
containers the bench starts carry a label and are removed at the end, also after Ctrl-C or SIGTERM.
Standard library plus the Docker SDK (through the pool) and the docker CLI (for the baselines).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from r1ci_env.sandbox.base import ExecResult, Sandbox, SandboxError

BENCH_LABEL = "r1ci.bench"  # on the baseline containers; value: this run's token
PRINT1 = "print(1)"
PROGRAMS = (  # (name, code, expected stdout)
    ("print(1)", PRINT1, "1\n"),
    ("numpy arange sum", "import numpy as np; print(np.arange(1000).sum())", "499500\n"),
    ("sympy solve x**2-4", "import sympy as sp; x = sp.Symbol('x'); print(sp.solve(x**2 - 4, x))", "[-2, 2]\n"),
)
BASELINE_CONCURRENCY = (1, 8)
TARGET_RATIO = 10.0
RUN_TIMEOUT = 30.0
DOCKER_CALL_TIMEOUT = 120.0
CODE_TURN = (
    "The product has several factors, so I will let Python do the arithmetic exactly rather than "
    "multiply by hand. I multiply the numbers in order and print the result.\n"
    "```python\nnumbers = [-71, 8312, 45, -906]\nproduct = 1\nfor n in numbers:\n    product *= n\n"
    "print(product)\n```\nNow I wait for the result of the code."
)


class InstantSandbox(Sandbox):
    """A stub whose `run()` returns a fixed `ExecResult` at once. Used ONLY by this benchmark, to
    time the env's own work per step with code execution excluded; never a real sandbox."""

    backend = "instant-stub"
    RESULT = ExecResult(stdout="24054508640\n", stderr="", exit_code=0, duration=0.0)

    def run(self, code: str, timeout: float = 10.0) -> ExecResult:
        return self.RESULT


# ---- statistics -------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(seconds, 50) * 1e3,
        "p95_ms": percentile(seconds, 95) * 1e3,
        "p99_ms": percentile(seconds, 99) * 1e3,
        "mean_ms": (sum(seconds) / len(seconds) * 1e3) if seconds else float("nan"),
    }


# ---- load generation --------------------------------------------------------------------------


def hammer(call: Callable[[], bool], concurrency: int, total: int, stop: threading.Event) -> dict[str, Any]:
    """Make `total` calls from `concurrency` threads. `call` returns True when its output was right
    and raises on an infrastructure failure. Returns runs/s, per-call latencies and failures."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    wrong = 0
    errors: list[str] = []

    def worker() -> None:
        nonlocal issued, wrong
        while not stop.is_set():
            with lock:
                if issued >= total:
                    return
                issued += 1
            started = time.perf_counter()
            try:
                good = call()
            except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                wrong += not good

    threads = [threading.Thread(target=worker, daemon=True, name=f"r1ci-bench-{i}") for i in range(concurrency)]
    started = time.perf_counter()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if any(thread.is_alive() for thread in threads):  # interrupted: let in-flight calls end
            stop.set()
            for thread in threads:
                thread.join(timeout=DOCKER_CALL_TIMEOUT)
    elapsed = time.perf_counter() - started
    done = len(latencies)
    return {
        "concurrency": concurrency,
        "runs": done,
        "seconds": elapsed,
        "runs_per_s": done / elapsed if elapsed > 0 else float("nan"),
        "latencies": latencies,
        "wrong": wrong,
        "errors": errors,
    }


# ---- our pool -----------------------------------------------------------------------------------


def _sandbox_call(sandbox: Sandbox, code: str, expected: str) -> Callable[[], bool]:
    def call() -> bool:
        result = sandbox.run(code, timeout=RUN_TIMEOUT)
        return result.ok and result.stdout == expected

    return call


def start_pool(options: dict[str, Any], progress: Callable[[str], None]) -> tuple[Sandbox, dict[str, Any]]:
    """Construct a fresh pool and time it until its first run has returned (the cold start)."""
    from r1ci_env.sandbox.docker_pool import DockerSandbox

    progress("starting a fresh pool (cold start)")
    started = time.perf_counter()
    sandbox = DockerSandbox(**options)
    try:
        ready = time.perf_counter()
        first = sandbox.run(PRINT1, timeout=RUN_TIMEOUT)
        first_done = time.perf_counter()
    except BaseException:
        sandbox.close()
        raise
    cold = {
        "pool_ready_s": ready - started,
        "first_run_returned_s": first_done - started,
        "first_run_ok": first.ok and first.stdout == "1\n",
        "containers_started_in_s": sandbox.cold_start_seconds,
    }
    return sandbox, cold


def measure_pool(
    sandbox: Any, args: argparse.Namespace, stop: threading.Event, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Latency rows and throughput levels of a started pool."""
    pool = {
        "image": sandbox.config.image,
        "containers": sandbox.config.containers,
        "slots_per_container": sandbox.config.slots_per_container(),
        "total_slots": sandbox.total_slots,
    }
    for _ in range(10):  # warm-up, not measured
        sandbox.run(PRINT1, timeout=RUN_TIMEOUT)
    latency = []
    for name, code, expected in PROGRAMS:
        progress(f"latency: {name} x {args.n}")
        wrong, errors, round_trips, inside = 0, [], [], []
        sandbox.run(code, timeout=RUN_TIMEOUT)  # warm-up of this program
        for _ in range(args.n):
            t0 = time.perf_counter()
            try:
                result = sandbox.run(code, timeout=RUN_TIMEOUT)
            except SandboxError as exc:
                errors.append(str(exc))
                continue
            round_trips.append(time.perf_counter() - t0)
            inside.append(result.duration)
            wrong += not (result.ok and result.stdout == expected)
        latency.append(
            {
                "program": name,
                "code": code,
                "n": len(round_trips),
                **_summary_ms(round_trips),
                "inside_p50_ms": percentile(inside, 50) * 1e3,
                "wrong": wrong,
                "errors": errors,
            }
        )
    throughput = []
    for level in args.concurrency:
        progress(f"throughput: print(1), concurrency {level} x {args.runs_per_level}")
        row = hammer(_sandbox_call(sandbox, PRINT1, "1\n"), level, args.runs_per_level, stop)
        throughput.append(_throughput_row(row))
    return {"pool": pool, "latency": latency, "throughput": throughput}


def _throughput_row(row: dict[str, Any]) -> dict[str, Any]:
    lat = row.pop("latencies")
    return {**row, "p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3}


# ---- memory -------------------------------------------------------------------------------------

HOLD = "import time\ntime.sleep(2)\nprint(1)"  # occupies a slot while memory is read


def container_pss_kb(container_ids: Sequence[str]) -> int | None:
    """Sum of PSS over every process of the containers (host pids from `docker top`); None when
    this process may not read them (not root on the Docker host, or a remote engine)."""
    total = 0
    for container_id in container_ids:
        listed = _docker("top", container_id, "-eo", "pid", timeout=30)
        pids = [int(word) for word in listed.stdout.decode().split() if word.isdigit()]
        if listed.returncode != 0 or not pids:
            return None
        for pid in pids:
            try:
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    total += int(fh.read().split("\nPss:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                return None
    return total


def measure_memory(sandbox: Any, stop: threading.Event) -> dict[str, Any]:
    """PSS of the pool's containers idle, and while every slot runs a program (sampled mid-run)."""
    ids = [container.container.id for container in list(sandbox._containers)]
    slots = sandbox.total_slots
    idle = container_pss_kb(ids)
    sampled: list[int | None] = []
    sampler = threading.Timer(1.0, lambda: sampled.append(container_pss_kb(ids)))
    sampler.start()
    row = hammer(_sandbox_call(sandbox, HOLD, "1\n"), slots, slots, stop)
    sampler.join()
    busy = sampled[0] if sampled else None
    return {
        "slots": slots,
        "idle_pss_kb": idle,
        "busy_pss_kb": busy,
        "idle_per_slot_kb": _div(idle, slots),
        "busy_per_slot_kb": _div(busy, slots),
        "wrong": row["wrong"],
        "errors": row["errors"],
    }


# ---- baselines ----------------------------------------------------------------------------------


def _docker(*argv: str, timeout: float = DOCKER_CALL_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *argv], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _docker_call(*argv: str) -> Callable[[], bool]:
    def call() -> bool:
        done = _docker(*argv)
        if done.returncode != 0 and done.returncode != 1:  # 125-127: docker itself failed
            raise RuntimeError(
                f"docker {argv[0]} exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}"
            )
        return done.returncode == 0 and done.stdout == b"1\n"

    return call


def remove_labelled(token: str) -> int:
    """Remove every container carrying this run's bench label; how many were found."""
    try:
        listed = _docker("ps", "-aq", "--filter", f"label={BENCH_LABEL}={token}", timeout=60)
        ids = listed.stdout.decode().split()
        if ids:
            _docker("rm", "-f", *ids, timeout=120)
        return len(ids)
    except (OSError, subprocess.SubprocessError):
        return 0


def measure_baselines(
    image: str,
    runs: int,
    token: str,
    stop: threading.Event,
    progress: Callable[[str], None],
    ours: Callable[[], bool],
    our_runs: int,
) -> dict[str, Any]:
    """docker run --rm per call, and docker exec per call into a long-lived plain container, each at
    concurrency 1 and 8. Right before each baseline level the pool is measured again at the same
    concurrency (`ours`, `our_runs` calls), so that each ratio compares two measurements taken
    seconds apart rather than minutes apart on a machine whose load drifts."""
    label = f"{BENCH_LABEL}={token}"
    run_argv = ("run", "--rm", "--network", "none", "--label", label, image, "python3", "-c", PRINT1)
    results: dict[str, Any] = {}
    try:
        progress("baseline: starting a plain long-lived container for docker exec")
        started = _docker("run", "-d", "--network", "none", "--label", label, image, "sleep", "infinity")
        if started.returncode != 0:
            raise RuntimeError(
                f"could not start the docker exec baseline container: {started.stderr.decode(errors='replace').strip()}"
            )
        container = started.stdout.decode().strip()
        for name, argv in (
            ("docker exec", ("exec", container, "python3", "-c", PRINT1)),
            ("docker run --rm", run_argv),
        ):
            call = _docker_call(*argv)
            call()  # warm-up: the first call pays one-off costs (page cache, image layers)
            levels, paired = {}, {}
            for level in BASELINE_CONCURRENCY:
                progress(f"baseline: r1ci pool then {name}, concurrency {level} ({our_runs} + {runs} calls)")
                paired[level] = _throughput_row(hammer(ours, level, our_runs, stop))
                levels[level] = _throughput_row(hammer(call, level, runs, stop))
            results[name] = {
                "argv": ["docker", *argv],
                "p50_ms": levels[1]["p50_ms"],
                "levels": levels,
                "paired_pool": paired,
            }
    finally:
        remove_labelled(token)
    return results


# ---- env overhead -------------------------------------------------------------------------------


def measure_env_overhead(steps: int) -> dict[str, Any]:
    """Time `CodeInterpreterEnv.step` with `InstantSandbox`: a code turn, and a final-answer turn."""
    from r1ci_env.env import CodeInterpreterEnv

    env = CodeInterpreterEnv("NumberMultiply", sandbox=InstantSandbox(), max_code_calls=5)
    code_turns: list[float] = []
    answer_turns: list[float] = []
    seed = 0
    clock = time.perf_counter_ns
    while len(code_turns) < steps:
        env.reset(seed=seed)
        seed += 1
        for _ in range(env.max_code_calls):
            t0 = clock()
            env.step(CODE_TURN)
            code_turns.append((clock() - t0) / 1e3)
        final = f"The program printed the product, so the answer is <<<{env.instance.gold}>>>."
        t0 = clock()
        _, reward, terminated, _, _ = env.step(final)
        answer_turns.append((clock() - t0) / 1e3)
        assert terminated and reward == 1.0, "the final-answer turn of the overhead bench was not scored correct"

    def stats(samples: list[float]) -> dict[str, float]:
        return {
            "steps": len(samples),
            "mean_us": sum(samples) / len(samples),
            "p50_us": percentile(samples, 50),
            "p99_us": percentile(samples, 99),
        }

    return {
        "stub": "InstantSandbox",
        "task": "NumberMultiply",
        "code_turn": stats(code_turns),
        "final_answer_turn": stats(answer_turns),
    }


# ---- report -------------------------------------------------------------------------------------


def _ratios(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Pool over baseline, each from the pool measurement taken right before that baseline."""
    rows = []
    for name, base in (report.get("baselines") or {}).items():
        ours = base["paired_pool"]
        ratio = _div(ours[8]["runs_per_s"], base["levels"][8]["runs_per_s"])
        row = {"comparison": f"throughput at concurrency 8: r1ci pool / {name}", "value": ratio}
        if name == "docker exec":
            row["target"] = TARGET_RATIO
            row["meets_target"] = None if ratio is None else ratio >= TARGET_RATIO
        rows.append(row)
        rows.append(
            {
                "comparison": f"p50 latency of print(1) at concurrency 1: {name} / r1ci pool",
                "value": _div(base["p50_ms"], ours[1]["p50_ms"]),
            }
        )
    return rows


def _div(a: float | None, b: float | None) -> float | None:
    if not a or not b or a != a or b != b:  # missing, zero or NaN
        return None
    return a / b


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def _failures(row: dict[str, Any]) -> str:
    errors = row.get("errors") or []
    text = f"{row.get('wrong', 0)} / {len(errors)}"
    return text + (f" (first: {errors[0][:120]})".replace("|", "/").replace("\n", " ") if errors else "")


def render_markdown(report: dict[str, Any]) -> str:
    m, pool, cold = report["machine"], report["pool"], report["cold_start"]
    lines = [
        "# r1ci sandbox bench",
        "",
        f"- machine: {m['cpus']} CPUs, {m['platform']}, Docker {m['docker_version']}; load average "
        f"{m['load_start']} at start, {m['load_end']} at the end",
        f"- pool: image `{pool['image']}`, {pool['containers']} containers x {pool['slots_per_container']} "
        f"slots = {pool['total_slots']} slots; executor RSS at the end {report['executor_rss_kb']} kB",
        "- all figures are wall-clock times on this machine in one run; they are noisy when other work "
        "shares the CPUs (compare the rows with each other, not with another machine)",
        "",
        "## Latency (host round trip of sandbox.run, sequential)",
        "",
        "| program | runs | p50 ms | p95 ms | p99 ms | mean ms | in-sandbox p50 ms | wrong / infra errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["latency"]:
        lines.append(
            f"| `{row['program']}` | {row['n']} | {_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} | "
            f"{_fmt(row['p99_ms'])} | {_fmt(row['mean_ms'])} | {_fmt(row['inside_p50_ms'])} | "
            f"{_failures(row)} |"
        )
    lines += [
        "",
        "## Throughput of print(1) (host threads)",
        "",
        "| concurrency | runs | runs/s | p50 ms | p99 ms | wrong / infra errors |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["throughput"]:
        lines.append(
            f"| {row['concurrency']} | {row['runs']} | {_fmt(row['runs_per_s'])} | {_fmt(row['p50_ms'])} | "
            f"{_fmt(row['p99_ms'])} | {_failures(row)} |"
        )
    lines += [
        "",
        "## Pool cold start",
        "",
        "| measure | seconds |",
        "|---|---|",
        f"| construct a fresh pool (containers started, executors ready) | {_fmt(cold['pool_ready_s'], 2)} |",
        f"| construct a fresh pool until its first run returned | {_fmt(cold['first_run_returned_s'], 2)} |",
    ]
    memory = report.get("memory")
    if memory:
        lines += [
            "",
            "## Memory (PSS of all the containers' processes, read from the host)",
            "",
            "| pool state | total MiB | MiB per slot |",
            "|---|---|---|",
        ]
        for state in ("idle", "busy"):
            total, per = memory[f"{state}_pss_kb"], memory[f"{state}_per_slot_kb"]
            label = "idle" if state == "idle" else f"all {memory['slots']} slots running a program"
            lines.append(f"| {label} | {_fmt(total and total / 1024)} | {_fmt(per and per / 1024)} |")
    baselines = report.get("baselines")
    lines += ["", "## Baselines (print(1), measured in this run)", ""]
    if not baselines:
        lines.append(f"skipped ({report.get('baselines_skipped', 'not measured')})")
    else:
        lines += [
            "| path | p50 ms (concurrency 1) | runs/s at concurrency 1 | runs/s at concurrency 8 | "
            "wrong / infra errors |",
            "|---|---|---|---|---|",
        ]
        for name, base in baselines.items():
            for title, levels in (
                (f"r1ci pool `sandbox.run`, measured right before {name}", base["paired_pool"]),
                (f"`{' '.join(base['argv'][:2])} ...` ({name})", base["levels"]),
            ):
                merged = {
                    "wrong": sum(lv["wrong"] for lv in levels.values()),
                    "errors": [e for lv in levels.values() for e in lv["errors"]],
                }
                lines.append(
                    f"| {title} | {_fmt(levels[1]['p50_ms'])} | {_fmt(levels[1]['runs_per_s'])} | "
                    f"{_fmt(levels[8]['runs_per_s'])} | {_failures(merged)} |"
                )
        lines += [
            "",
            f"docker exec goes into a plain `docker run -d --network none IMAGE sleep infinity` container; "
            f"{report['baseline_runs']} calls per level after one warm-up call. The pool rows are measured "
            f"again ({report['paired_runs']} calls per level) just before each baseline, and the ratios "
            "below use those pairs, so load drifting during the run does not skew them.",
        ]
        lines += ["", "## Ratios", "", "| comparison | value | target |", "|---|---|---|"]
        for row in report["ratios"]:
            target = ""
            if "target" in row:
                verdict = {True: "met", False: "NOT met", None: "n/a"}[row["meets_target"]]
                target = f">= {row['target']:.0f}x: {verdict}"
            value = "n/a" if row["value"] is None else f"{_fmt(row['value'])}x"
            lines.append(f"| {row['comparison']} | {value} | {target} |")
    env = report.get("env_overhead")
    lines += ["", "## Env overhead per step, execution excluded", ""]
    if env:
        lines += [
            f"`CodeInterpreterEnv.step` on {env['task']} with `InstantSandbox`, a stub whose run() returns "
            "a fixed ExecResult instantly; it is used only to subtract execution, so a real step costs "
            "this plus the sandbox round trip above.",
            "",
            "| turn | steps | mean us | p50 us | p99 us |",
            "|---|---|---|---|---|",
        ]
        for key, name in (
            ("code_turn", "code turn (sanitise, extract the block, run, format the observation)"),
            ("final_answer_turn", "final-answer turn (extract the answer, score)"),
        ):
            row = env[key]
            lines.append(
                f"| {name} | {row['steps']} | {_fmt(row['mean_us'])} | {_fmt(row['p50_us'])} | {_fmt(row['p99_us'])} |"
            )
    lines += render_remote(report)
    lines += ["", f"Result: {'OK' if report['ok'] else 'FAILED (wrong outputs or infrastructure errors above)'}"]
    return "\n".join(lines) + "\n"


def _record_load(stage: str, info: dict[str, Any]) -> None:
    info[f"load_{stage}"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _docker_version() -> str:
    try:
        done = _docker("version", "--format", "{{.Server.Version}}", timeout=30)
        return done.stdout.decode().strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown (no docker CLI)"


def run_bench(args: argparse.Namespace, progress: Callable[[str], None]) -> dict[str, Any]:
    """Every measurement of one bench run, as a JSON-serialisable dict."""
    from r1ci_env.settings import sandbox_image

    image = args.image or sandbox_image()
    options: dict[str, Any] = {"image": image}
    if args.containers is not None:
        options["containers"] = args.containers
    if args.slots is not None:
        options["slots"] = args.slots
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "host": socket.gethostname(),
        "docker_version": _docker_version(),
    }
    _record_load("start", machine)
    stop = threading.Event()
    token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    sandbox, cold = start_pool(options, progress)
    try:
        report: dict[str, Any] = {"machine": machine, "cold_start": cold, **measure_pool(sandbox, args, stop, progress)}
        progress("memory: PSS of the pool's containers, idle and with every slot busy")
        report["memory"] = measure_memory(sandbox, stop)
        if args.skip_baselines:
            report["baselines"], report["baselines_skipped"] = None, "--skip-baselines"
        elif shutil.which("docker") is None:
            report["baselines"], report["baselines_skipped"] = None, "no docker CLI on PATH"
        else:
            report["baselines"] = measure_baselines(
                image,
                args.baseline_runs,
                token,
                stop,
                progress,
                _sandbox_call(sandbox, PRINT1, "1\n"),
                args.runs_per_level,
            )
            report["baseline_runs"], report["paired_runs"] = args.baseline_runs, args.runs_per_level
        if args.skip_remote:
            report["remote"], report["remote_skipped"] = None, "--skip-remote"
        else:
            report["remote"] = measure_remote(sandbox, args, stop, progress)
        report["executor_rss_kb"] = [stat.get("rss_kb") for stat in sandbox.ping()]
        sandbox.close()
        progress(f"env overhead: {args.env_steps} code turns with InstantSandbox")
        report["env_overhead"] = measure_env_overhead(args.env_steps)
    finally:
        stop.set()
        sandbox.close()
        if shutil.which("docker"):
            remove_labelled(token)
    _record_load("end", machine)
    report["ratios"] = _ratios(report)
    rows = [*report["latency"], *report["throughput"], *remote_rows(report), report["memory"]]
    for base in (report.get("baselines") or {}).values():
        rows += [*base["levels"].values(), *base["paired_pool"].values()]
    report["ok"] = report["cold_start"]["first_run_ok"] and not any(r["wrong"] or r["errors"] for r in rows)
    return report


def bench_command(args: argparse.Namespace) -> int:
    """`r1ci sandbox bench`: run every measurement, print the markdown report (and the JSON)."""
    to_stdout = args.json == "-"
    out = sys.stderr if to_stdout else sys.stdout

    def progress(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    previous = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        report = run_bench(args, progress)
    except KeyboardInterrupt:
        print("r1ci sandbox bench: interrupted; the containers it started were removed", file=sys.stderr)
        return 130
    except SandboxError as exc:
        print(f"r1ci sandbox bench: the sandbox failed: {exc}", file=sys.stderr)
        return 1
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"r1ci sandbox bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
    print(render_markdown(report), file=out, flush=True)
    if args.json:
        text = json.dumps(report, indent=2, default=str)
        if to_stdout:
            print(text, flush=True)
        else:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
    return 0 if report["ok"] else 1


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def concurrency_list(text: str) -> list[int]:
    """Parse "1,2,4" into [1, 2, 4] (argparse type)."""
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"concurrency levels must be integers >= 1, got {text!r}")
    return levels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `r1ci sandbox bench`."""
    parser.add_argument("--image", default=None, help="image tag (default: $R1CI_SANDBOX_IMAGE or r1ci-sandbox:latest)")
    parser.add_argument("--containers", type=int, default=None, help="pool containers (default: the pool's default)")
    parser.add_argument("--slots", type=int, default=None, help="slots per container (default: the pool's default)")
    parser.add_argument("--n", type=int, default=200, help="runs per latency row (default 200)")
    parser.add_argument(
        "--concurrency",
        type=concurrency_list,
        default=[1, 2, 4, 8, 16, 32],
        help="comma-separated thread counts for the throughput rows (default 1,2,4,8,16,32)",
    )
    parser.add_argument("--runs-per-level", type=int, default=400, help="runs per throughput level (default 400)")
    parser.add_argument(
        "--baseline-runs", type=int, default=40, help="calls per concurrency level of each docker baseline (default 40)"
    )
    parser.add_argument("--skip-baselines", action="store_true", help="do not measure docker run / docker exec")
    parser.add_argument(
        "--skip-remote",
        action="store_true",
        help="do not measure `r1ci sandbox serve` + the remote backend beside the local pool",
    )
    parser.add_argument(
        "--env-steps", type=int, default=2000, help="code-turn steps timed for the env overhead (default 2000)"
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="also write the results as JSON to PATH; `--json` alone prints only JSON on stdout "
        "(the markdown then goes to stderr)",
    )


# ---- remote: `r1ci sandbox serve` + the remote backend, beside the local pool ------------------

REMOTE_CONCURRENCY = (1, 8, 64)
REMOTE_TARGET_THROUGHPUT = 0.8  # remote / local runs/s at concurrency 8


def measure_remote(
    local: Any, args: argparse.Namespace, stop: threading.Event, progress: Callable[[str], None]
) -> dict[str, Any]:
    """print(1) through `r1ci sandbox serve` (a child process with a pool of the local pool's shape) and
    the `remote` client, each level measured right after the local pool at the same concurrency."""
    from r1ci_env.sandbox.remote import RemoteSandbox
    from r1ci_env.sandbox.server import spawn
    from r1ci_env.sandbox.server import stop as stop_server

    shape = local.config
    progress("remote: starting `r1ci sandbox serve` with a pool of the same shape")
    proc, url = spawn(
        "--image",
        shape.image,
        "--containers",
        str(shape.containers),
        "--slots",
        str(shape.slots),
        *(["--strict"] if shape.strict else []),
        "--max-queue",
        "4096",
    )
    try:
        with RemoteSandbox([url]) as remote:
            for _ in range(10):  # warm-up: connections, server threads
                remote.run(PRINT1, timeout=RUN_TIMEOUT)
            levels = {}
            for level in REMOTE_CONCURRENCY:
                progress(f"remote: local pool then remote, concurrency {level} x {args.runs_per_level}")
                levels[level] = {
                    "local": _throughput_row(
                        hammer(_sandbox_call(local, PRINT1, "1\n"), level, args.runs_per_level, stop)
                    ),
                    "remote": _throughput_row(
                        hammer(_sandbox_call(remote, PRINT1, "1\n"), level, args.runs_per_level, stop)
                    ),
                }
    finally:
        stop_server(proc)
    return {
        "url": url,
        "levels": levels,
        "added_p50_ms_c1": levels[1]["remote"]["p50_ms"] - levels[1]["local"]["p50_ms"],
        "throughput_ratio_c8": _div(levels[8]["remote"]["runs_per_s"], levels[8]["local"]["runs_per_s"]),
    }


def remote_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every measured row of the remote section (for the OK verdict)."""
    remote = report.get("remote") or {"levels": {}}
    return [row for pair in remote["levels"].values() for row in pair.values()]


def render_remote(report: dict[str, Any]) -> list[str]:
    """The markdown section of the remote measurement."""
    remote = report.get("remote")
    lines = ["", '## Remote: `r1ci sandbox serve` + `sandbox="remote"` beside the local pool (print(1))', ""]
    if not remote:
        return lines + [f"skipped ({report.get('remote_skipped', 'not measured')})"]
    lines += [
        "| concurrency | path | runs | runs/s | p50 ms | p99 ms | wrong / infra errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for level, pair in remote["levels"].items():
        for name, row in (("local pool", pair["local"]), ("remote (HTTP, 1 server)", pair["remote"])):
            lines.append(
                f"| {level} | {name} | {row['runs']} | {_fmt(row['runs_per_s'])} | {_fmt(row['p50_ms'])} | "
                f"{_fmt(row['p99_ms'])} | {_failures(row)} |"
            )
    ratio = remote["throughput_ratio_c8"]
    verdict = "n/a" if ratio is None else ("met" if ratio >= REMOTE_TARGET_THROUGHPUT else "NOT met")
    lines += [
        "",
        f"The server is a child process on this machine, with a pool of the same shape as the local one; "
        "each remote level is measured right after the local level. p50 added by the remote path at "
        f"concurrency 1: {_fmt(remote['added_p50_ms_c1'])} ms; throughput at concurrency 8, remote / local: "
        f"{'n/a' if ratio is None else f'{ratio:.2f}'} (target >= {REMOTE_TARGET_THROUGHPUT:.1f}: {verdict}).",
    ]
    return lines
