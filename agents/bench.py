"""`r1ci bench`: play every question of a suite (or task list) k times with one agent, concurrently, and
write the episodes turn by turn, a summary with uncertainty beside the published references, a plot and
a manifest.

Episodes: task t, questions `seed .. seed+n-1` (the seed picks the question), `samples` samples of each
(key = (task, seed, sample); scheduled round-robin over tasks so a partial run covers every task). Each
sample's sampling seed is derived from (sampling seed of the run, task, question seed, sample index)
(`sample_seed`), set on the agent and recorded. Episodes run in a thread pool of `concurrency` workers,
one env per episode; all envs of the process share one sandbox pool. Model-backed agents share their
model, client or engine across episodes (`fresh_agent`).

Files in the output directory:
- `episodes.jsonl`: one JSON line per finished episode (`agents.Episode.to_dict()` plus the run's
  fields: sample, sampling_seed, agent, prompt_style, attempts, started_at, seconds), written and
  flushed as soon as it ends (a kill loses at most the episodes in flight).
- `errors.jsonl`: one line per failed attempt: task, seed, sample, kind ("infra": a `SandboxError` or an
  `AgentError`; "exception": anything else, a bug), error, attempt, final, fatal, at. Infra errors are
  retried `retries` times (a fresh env and agent each time) and never scored as wrong answers. The
  first error of each kind is printed at once; the run stops on a fatal agent error, on an unreachable
  endpoint, or after `max_identical_errors` identical final errors.
- `summary.md`, `summary.csv`, `plot.png`, `manifest.json`: see `agents.report`.

Stopping (`handle_signals=True`, as `r1ci bench` runs): the first SIGINT/SIGTERM stops every episode
after its current turn (unfinished episodes are not written; `--resume` plays them again) and keeps
summary.md/csv up to date from then on; a second one writes the reports from what is on disk and exits
at once. Either way summary.md matches episodes.jsonl.

`resume=True` continues a run in the same directory: episodes already in episodes.jsonl are skipped
(a line cut short by a kill is discarded first), everything else runs. The settings in
`RESUME_MUST_MATCH` (agent, effective generation settings, weights fingerprint, prompt, code and env
settings, sampling seed) must match the manifest's; n, seed, samples and tasks may differ (a resumed run
can extend one).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import fresh_agent, make_agent, parse_agent_spec, report
from .base import Agent
from .episode import EpisodeInterrupted, play_with_retries
from .errors import AgentError

DEFAULT_N = 20
DEFAULT_CONCURRENCY = 8
DEFAULT_RETRIES = 2
DEFAULT_MAX_IDENTICAL_ERRORS = 3
PROMPT_STYLES = ("code_interpreter", "text_only", "code_always")
# Settings a resumed run must share with the run it continues (else the episodes would not be comparable).
RESUME_MUST_MATCH = (
    "agent",
    "generation",
    "weights",
    "prompt_style",
    "prompt_sha256",
    "max_code_calls",
    "code_timeout",
    "env_options",
    "sampling_seed",
)
_ENV_ID = re.compile(r"r1ci/(.+)-v\d+")


class BenchError(RuntimeError):
    """The benchmark cannot start or had to stop (bad arguments, sandbox unavailable, a fatal agent error)."""


@dataclass
class BenchResult:
    out: Path
    episodes_run: int
    episodes_skipped: int
    episodes_total: int
    errors: int
    lost: int
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    aborted: str | None = None
    interrupted: bool = False

    @property
    def episodes_per_second(self) -> float:
        return self.episodes_run / self.seconds if self.seconds > 0 else 0.0


class _JsonlWriter:
    """Appends JSON lines, one flush per line, safe from many threads; writes after `close` are dropped."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> bool:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if self._handle.closed:
                return False
            self._handle.write(line)
            self._handle.flush()
            return True

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def repair_jsonl(path: Path) -> int:
    """Cut a trailing partial line (a write interrupted by a kill) so appends start on a fresh line.
    Returns how many bytes were removed."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with path.open("r+b") as handle:
        handle.truncate(keep)
    return len(data) - keep


def task_name(name: str) -> str:
    """A task name from a name or a gym id (`r1ci/Game24-v0` -> `Game24`)."""
    match = _ENV_ID.fullmatch(name.strip())
    return match.group(1) if match else name.strip()


def resolve_tasks(suite: str | None = None, tasks: list[str] | str | None = None) -> tuple[list[str], list[str]]:
    """(tasks to run, suite tasks that are not registered here). A task named in `tasks` (a name or a gym
    id) must exist."""
    import r1ci_env  # noqa: F401 - registers the environments
    from r1ci_env.tasks import task_names, task_spec

    if (suite is None) == (tasks is None):
        raise BenchError("give exactly one of a suite (--suite) or a task list (--tasks)")
    if tasks is not None:
        names = [task_name(t) for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
        if not names:
            raise BenchError("the task list is empty")
        for name in names:
            try:
                task_spec(name)
            except KeyError as exc:
                raise BenchError(str(exc).strip('"')) from None
        return list(dict.fromkeys(names)), []
    from r1ci_env import suites

    try:
        names = suites.suite(suite)
    except KeyError as exc:
        raise BenchError(str(exc).strip('"')) from None
    registered = set(task_names())
    return [n for n in names if n in registered], [n for n in names if n not in registered]


def default_max_code_calls(prompt_style: str) -> int:
    from r1ci_env import protocol

    return 0 if prompt_style == "text_only" else protocol.DEFAULT_MAX_CODE_CALLS


def sample_seed(run_seed: int, task: str, question_seed: int, sample: int) -> int:
    """The agent's sampling seed for one sample of one question: a hash of the four, so samples of a
    question differ, and every sample is reproducible on its own (whatever else ran beside it)."""
    digest = hashlib.sha256(f"{run_seed}/{task}/{question_seed}/{sample}".encode()).hexdigest()
    return int(digest[:15], 16)


def check_positive(name: str, value: int | float, minimum: int | float = 1) -> None:
    """A one-line `BenchError` for a number below its minimum (`--n 0`, say)."""
    if value < minimum:
        raise BenchError(f"{name} must be >= {minimum}, got {value}")


def check_no_seed_option(options: dict[str, Any]) -> None:
    """`r1ci run/bench` seed every episode themselves: an agent option `seed` would be silently replaced."""
    if "seed" in options:
        raise BenchError(
            "episodes are seeded from --sampling-seed, the task, the question and the sample; "
            "give --sampling-seed instead of the agent option seed"
        )


def _redact(options: dict[str, Any]) -> dict[str, Any]:
    secret = re.compile(r"key|secret|password|auth", re.I)
    return {k: ("***" if secret.search(k) else v) for k, v in options.items() if k not in ("input", "output")}


GENERATION_ATTRIBUTES = (
    "model",
    "temperature",
    "top_p",
    "max_new_tokens",
    "max_total_tokens",
    "sampling",
    "stop",
    "conversation",
    "system_prompt",
    "system",
    "continue_params",
    "extra_body",
)


def generation_settings(agent: Agent) -> dict[str, Any]:
    """The settings the agent will actually generate with (defaults included), for the manifest and the
    resume check."""
    settings = {name: getattr(agent, name) for name in GENERATION_ATTRIBUTES if hasattr(agent, name)}
    return json.loads(json.dumps(_redact(settings), default=str))


def resume_command(argv: list[str] | None) -> str:
    """The command line that continues this run."""
    args = [a for a in (argv or ["..."]) if a != "--resume"]
    if args and args[0] == "bench":
        args = args[1:]
    return "r1ci bench " + " ".join(args) + " --resume"


class _ErrorLog:
    """errors.jsonl, the first error of each kind printed at once, and the stop rules for errors."""

    def __init__(self, path: Path, max_identical: int, stop: _Stop, say: Any = print) -> None:
        self.writer = _JsonlWriter(path)
        self.say = say
        self.max_identical = max_identical
        self.stop = stop
        self.printed: set[str] = set()
        self.final_counts: dict[str, int] = {}
        self.count = 0
        self.lost = 0
        self._lock = threading.Lock()

    def record(self, key: tuple[str, int, int], kind: str, exc: BaseException, attempt: int, final: bool) -> None:
        task, seed, sample = key
        text = f"{type(exc).__name__}: {exc}"
        fatal = bool(getattr(exc, "fatal", False))
        entry = {
            "task": task,
            "seed": seed,
            "sample": sample,
            "kind": kind,
            "error": text,
            "attempt": attempt,
            "final": final,
            "fatal": fatal,
            "at": report.now_iso(),
        }
        if kind == "exception":
            entry["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.writer.write(entry)
        signature = re.sub(r"\d+", "N", text.splitlines()[0] if text else text)[:300]
        with self._lock:
            self.count += 1
            self.lost += final
            first = signature not in self.printed
            self.printed.add(signature)
            if final:
                self.final_counts[signature] = self.final_counts.get(signature, 0) + 1
            identical = self.final_counts.get(signature, 0)
        if first:
            self.say(f"r1ci bench: error ({kind}, {task} seed {seed}): {_one_line(text)}")
        if fatal:
            self.stop.abort(f"fatal agent error: {_one_line(text)}")
        elif getattr(exc, "unreachable", False):
            self.stop.abort(f"the model endpoint is unreachable: {_one_line(text)}")
        elif final and self.max_identical and identical >= self.max_identical:
            self.stop.abort(f"{identical} episodes failed with the same error: {_one_line(text)}")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _Stop:
    """Why the run stops early: a signal (stop after the current turn) or an abort (an error rule)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None
        self.aborted = False
        self.signals = 0

    def abort(self, reason: str) -> None:
        if self.reason is None:
            self.reason, self.aborted = reason, True
        self.event.set()

    def interrupt(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.event.set()


class _Progress:
    """Counters of the run, and the progress bar (episodes, in flight, turns, tokens/s)."""

    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.lock = threading.RLock()  # re-entrant: the signal handler takes it on the main thread
        self.run = self.in_flight = self.turns = self.tokens = 0
        self.reward = 0.0
        self.started = time.perf_counter()
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=initial,
                desc="r1ci bench",
                unit="ep",
                dynamic_ncols=True,
                file=sys.stderr,
                smoothing=0.05,
            )

    def on_turn(self, facts: dict[str, Any]) -> None:
        with self.lock:
            self.turns += 1
            self.tokens += facts.get("completion_tokens") or 0

    def episode(self, reward: float | None, errors: int) -> None:
        with self.lock:
            if reward is not None:
                self.run += 1
                self.reward += reward
            if self.bar is not None:
                self.bar.update(1)
        self.refresh(errors)

    def refresh(self, errors: int) -> None:
        if self.bar is None:
            return
        with self.lock:
            seconds = max(time.perf_counter() - self.started, 1e-9)
            accuracy = self.reward / self.run if self.run else 0.0
            self.bar.set_postfix(
                acc=f"{100 * accuracy:.1f}%",
                in_flight=self.in_flight,
                turns=self.turns,
                tok_s=f"{self.tokens / seconds:.1f}",
                errors=errors,
                refresh=False,
            )
            self.bar.refresh()

    def say(self, text: str) -> None:
        """Print a line on stderr without breaking the progress bar."""
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class BenchRun:
    """One `r1ci bench` run: `prepare()` checks everything and writes the manifest, `play(key)` plays one
    episode, `execute()` plays every pending episode and writes the reports. See the module docstring."""

    def __init__(
        self,
        agent: str | Agent,
        *,
        out: Path | str,
        suite: str | None = None,
        tasks: list[str] | str | None = None,
        n: int = DEFAULT_N,
        seed: int = 0,
        samples: int = 1,
        sampling_seed: int = 0,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: bool = False,
        prompt_style: str = "code_interpreter",
        max_code_calls: int | None = None,
        code_timeout: float | None = None,
        sandbox: Any = "docker",
        retries: int = DEFAULT_RETRIES,
        retry_delay: float = 1.0,
        agent_options: dict[str, Any] | None = None,
        progress: bool = True,
        argv: list[str] | None = None,
        env_options: dict[str, Any] | None = None,
        max_identical_errors: int = DEFAULT_MAX_IDENTICAL_ERRORS,
        handle_signals: bool = False,
    ) -> None:
        self.agent_spec, self.suite, self.tasks = agent, suite, tasks
        self.n, self.seed, self.samples, self.sampling_seed = n, seed, samples, sampling_seed
        self.concurrency, self.resume, self.prompt_style = concurrency, resume, prompt_style
        self.max_code_calls, self.code_timeout, self.sandbox = max_code_calls, code_timeout, sandbox
        self.retries, self.retry_delay, self.progress = retries, retry_delay, progress
        self.agent_options = dict(agent_options or {})
        self.argv = list(argv) if argv is not None else sys.argv[1:]
        self.env_options = dict(env_options or {})
        self.max_identical_errors, self.handle_signals = max_identical_errors, handle_signals
        self.out = Path(out)
        self.started = time.perf_counter()
        self.stop = _Stop()
        self._summary_lock = threading.RLock()  # re-entrant: the signal handler may take it on the main thread

    # -- preparation -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Check the arguments, build the agent, write the manifest; raises `BenchError`."""
        from r1ci_env import protocol
        from r1ci_env.sandbox import DEFAULT_TIMEOUT

        check_positive("--n", self.n)
        check_positive("--samples-per-question", self.samples)
        check_positive("--concurrency", self.concurrency)
        check_positive("--retries", self.retries, 0)
        check_positive("--max-identical-errors", self.max_identical_errors, 0)
        protocol.prompt_template(self.prompt_style)  # a style name or a template; raises ValueError otherwise
        self.task_list, missing = resolve_tasks(self.suite, self.tasks)
        if not self.task_list:
            raise BenchError(f"no task of suite {self.suite!r} is registered here")
        if self.max_code_calls is None:
            self.max_code_calls = default_max_code_calls(self.prompt_style)
        check_positive("--max-code-calls", self.max_code_calls, 0)
        self.code_timeout = DEFAULT_TIMEOUT if self.code_timeout is None else self.code_timeout
        check_positive("--code-timeout", self.code_timeout, 0.001)
        self.out.mkdir(parents=True, exist_ok=True)
        self.episodes_path = self.out / report.EPISODES_FILE
        self.errors_path = self.out / report.ERRORS_FILE
        self._build_agent()
        self._write_manifest(missing)

    def _build_agent(self) -> None:
        check_no_seed_option(self.agent_options)
        if isinstance(self.agent_spec, str):
            self.spec = self.agent_spec
            parse_agent_spec(self.spec)
            self.base_agent = make_agent(self.spec, **self.agent_options)
        else:
            if self.agent_options:
                raise BenchError("agent_options only apply to an agent spec, not to an Agent object")
            self.base_agent = self.agent_spec
            self.spec = getattr(self.agent_spec, "name", type(self.agent_spec).__name__)
        if self.base_agent.interactive:  # the human agent: one episode at a time, no progress bar
            self.concurrency, self.progress = 1, False
        backend = getattr(self.base_agent, "backend", None)
        device = getattr(backend, "device", None)
        if device is not None and getattr(device, "type", None) == "cpu":
            print(
                "r1ci bench: warning: the hf model runs on the CPU (no GPU found): a real model generates a few "
                "tokens per second there, so episodes may take minutes",
                file=sys.stderr,
            )

    def _write_manifest(self, missing: list[str]) -> None:
        out, resume = self.out, self.resume
        self.this_run = {
            "started_at": report.now_iso(),
            "argv": self.argv,
            "tasks": self.task_list,
            "n": self.n,
            "seed": self.seed,
            "samples_per_question": self.samples,
            "concurrency": self.concurrency,
            "retries": self.retries,
            "sandbox": self.sandbox if isinstance(self.sandbox, str) else type(self.sandbox).__name__,
        }
        settings = {
            "agent": self.spec,
            "agent_options": _redact(self.agent_options),
            "generation": generation_settings(self.base_agent),
            "weights": report.weights_fingerprint(self.spec),
            "prompt_style": self.prompt_style,
            "prompt_sha256": report.prompt_sha256(self.prompt_style),
            "max_code_calls": self.max_code_calls,
            "code_timeout": self.code_timeout,
            "env_options": self.env_options,
            "sampling_seed": self.sampling_seed,
        }
        existing = report.read_jsonl(self.episodes_path)
        if existing and not resume:
            raise BenchError(
                f"{self.episodes_path} already holds {len(existing)} episode(s): pass --resume to "
                "continue that run, or choose another --out"
            )
        previous = report.load_manifest(out) if resume else None
        if not resume:  # a fresh run: nothing left over from an earlier attempt that scored no episode
            for path in (self.episodes_path, self.errors_path):
                path.write_bytes(b"")
        if previous:
            different = [k for k in RESUME_MUST_MATCH if k in previous and previous.get(k) != settings.get(k)]
            if different:
                raise BenchError(
                    "cannot resume: "
                    + "; ".join(
                        f"{k} {_one_line(json.dumps(settings.get(k), default=str), 120)} differs from the run's "
                        f"{_one_line(json.dumps(previous.get(k), default=str), 120)}"
                        for k in different
                    )
                    + f" in {out} (use another --out to keep the results apart)"
                )
        manifest = dict(previous) if previous else {"created_at": self.this_run["started_at"]}
        manifest.update(settings)
        manifest.update(
            {
                "suite": self.suite if (not previous or previous.get("suite") in (None, self.suite)) else "mixed",
                "tasks": list(dict.fromkeys(list(manifest.get("tasks", [])) + self.task_list)),
                "missing_tasks": missing,
                "n": max(self.n, int(manifest.get("n") or 0)),
                "samples_per_question": max(self.samples, int(manifest.get("samples_per_question") or 0)),
                "seed": self.seed if not previous else min(self.seed, int(previous.get("seed", self.seed))),
                "sandbox": report.sandbox_description(self.sandbox),
                **report.environment_facts(),
            }
        )
        manifest.setdefault("runs", []).append(self.this_run)
        if resume:
            repair_jsonl(self.episodes_path)
            repair_jsonl(self.errors_path)
        self.manifest, self.previous = manifest, previous
        report.save_manifest(out, manifest)

    def _check_tasks_and_sandbox(self) -> None:
        """Drop (from a suite) or refuse (named in --tasks) the tasks that cannot make a question here, and
        warm the sandbox up before any episode starts."""
        from r1ci_env.sandbox import SandboxError, shared_sandbox

        self.make_kwargs = {
            "sandbox": self.sandbox,
            "prompt": self.prompt_style,
            "max_code_calls": self.max_code_calls,
            "timeout": self.code_timeout,
            **self.env_options,
        }
        unavailable = _unavailable_tasks(self.task_list, self.make_kwargs, self.seed)
        if unavailable and self.tasks is not None:
            raise BenchError("cannot make questions for " + "; ".join(f"{k}: {v}" for k, v in unavailable.items()))
        for name, error in unavailable.items():
            print(f"r1ci bench: skipping {name}: {error}", file=sys.stderr)
        self.task_list = [name for name in self.task_list if name not in unavailable]
        if not self.task_list:
            raise BenchError("no task of the suite can make questions here")
        previous_tasks = (self.previous or {}).get("tasks", [])
        self.manifest["unavailable_tasks"] = unavailable
        self.manifest["tasks"] = [t for t in self.manifest["tasks"] if t not in unavailable or t in previous_tasks]
        self.this_run["tasks"] = self.task_list
        done = {report.episode_key(record) for record in report.read_jsonl(self.episodes_path)}
        self.keys = [
            (task, self.seed + i, s) for i in range(self.n) for s in range(self.samples) for task in self.task_list
        ]
        self.pending = [key for key in self.keys if key not in done]
        self.skipped = len(self.keys) - len(self.pending)
        self.this_run.update({"episodes_skipped": self.skipped, "episodes_pending": len(self.pending)})
        if isinstance(self.sandbox, str) and self.pending and self.max_code_calls > 0:
            try:
                shared_sandbox(self.sandbox).run("print('ok')", 60.0)
            except SandboxError as exc:
                raise BenchError(f"the {self.sandbox} sandbox is not available: {exc}") from exc
        report.save_manifest(self.out, self.manifest)

    # -- playing ---------------------------------------------------------------------------------
    def play(self, key: tuple[str, int, int]) -> None:
        """Play one episode (with retries) and write its line, or its errors."""
        import gymnasium as gym

        from r1ci_env.sandbox import SandboxError
        from r1ci_env.tasks.registry import env_id

        if self.stop.event.is_set():
            return
        task, question_seed, sample = key
        agent_seed = sample_seed(self.sampling_seed, task, question_seed, sample)

        def make_episode_agent() -> Agent:
            agent = fresh_agent(self.base_agent)
            agent.seed = agent_seed
            return agent

        with self.progress_state.lock:
            self.progress_state.in_flight += 1
        started, started_at = time.perf_counter(), report.now_iso()
        episode, attempts, interrupted = None, 0, False
        try:
            episode, attempts = play_with_retries(
                lambda: gym.make(env_id(task), disable_env_checker=True, **self.make_kwargs),
                make_episode_agent,
                question_seed,
                retries=self.retries,
                retry_delay=self.retry_delay,
                on_error=lambda exc, attempt, final: self.errors.record(key, "infra", exc, attempt, final),
                should_stop=self.stop.event.is_set,
                on_turn=self.progress_state.on_turn,
            )
        except EpisodeInterrupted:
            interrupted = True
        except (SandboxError, AgentError):
            pass  # recorded by on_error
        except Exception as exc:  # a bug in an agent or task: recorded, not retried, not scored
            self.errors.record(key, "exception", exc, 1, True)
        finally:
            with self.progress_state.lock:
                self.progress_state.in_flight -= 1
        reward = None
        if episode is not None:
            record = {
                **episode.to_dict(),
                "sample": sample,
                "sampling_seed": agent_seed,
                "agent": self.spec,
                "prompt_style": self.prompt_style,
                "attempts": attempts,
                "started_at": started_at,
                "seconds": round(time.perf_counter() - started, 4),
            }
            if self.writer.write(record):
                reward = record["reward"]
                if self.stop.event.is_set():  # stopping: keep the summary in step with every line written
                    self._refresh_summary()
            if self.base_agent.interactive:
                print(
                    f"----- episode over: reward {episode.reward:g}, your answer {episode.answer!r}, gold "
                    f"{episode.gold!r} -----",
                    flush=True,
                )
        if not interrupted:
            self.progress_state.episode(reward, self.errors.count)

    def execute(self) -> BenchResult:
        """Play every pending episode, then write the reports."""
        self._check_tasks_and_sandbox()
        self.writer = _JsonlWriter(self.episodes_path)
        self.progress_state = _Progress(len(self.keys), self.skipped, self.progress)
        self.errors = _ErrorLog(self.errors_path, self.max_identical_errors, self.stop, self.progress_state.say)
        self.this_run["setup_seconds"] = round(time.perf_counter() - self.started, 3)
        restore = self._install_signal_handlers() if self.handle_signals else {}
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="r1ci-bench")
        try:
            try:
                futures = [pool.submit(self.play, key) for key in self.pending]
                while futures:
                    done, not_done = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
                    for future in done:
                        future.result()
                    futures = list(not_done)
                    self.progress_state.refresh(self.errors.count)
            except BaseException:
                self.stop.interrupt("interrupted")
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                seconds = time.perf_counter() - started
                self._close(seconds)
            return self._result(seconds, report.write_reports(self.out))
        finally:  # only now: a second signal while the reports are written still writes them and exits cleanly
            for signum, handler in restore.items():
                signal.signal(signum, handler)

    def _close(self, seconds: float) -> None:
        """Close the files and record this run in the manifest."""
        self.writer.close()
        self.errors.writer.close()
        self.progress_state.close()
        run = self.this_run
        total = time.perf_counter() - self.started
        run.update(
            {
                "finished_at": report.now_iso(),
                "seconds": round(seconds, 3),
                "seconds_with_setup": round(total, 3),
                "episodes_run": self.progress_state.run,
                "errors": self.errors.count,
                "turns": self.progress_state.turns,
                "completion_tokens": self.progress_state.tokens,
                "episodes_per_second": round(self.progress_state.run / seconds, 4) if seconds > 0 else None,
                "episodes_per_second_with_setup": round(self.progress_state.run / total, 4) if total > 0 else None,
                "stopped": self.stop.reason,
            }
        )
        client = getattr(self.base_agent, "client", None)
        if client is not None:
            run["agent_peak_requests_in_flight"] = getattr(client, "peak_in_flight", None)
        report.save_manifest(self.out, self.manifest)

    def _result(self, seconds: float, summary: dict[str, Any]) -> BenchResult:
        stop = self.stop
        return BenchResult(
            out=self.out,
            episodes_run=self.progress_state.run,
            episodes_skipped=self.skipped,
            episodes_total=len(self.keys),
            errors=self.errors.count,
            lost=self.errors.lost,
            seconds=seconds,
            summary=summary,
            aborted=stop.reason if stop.aborted else None,
            interrupted=stop.reason is not None and not stop.aborted,
        )

    def _refresh_summary(self) -> None:
        """summary.md/csv from what episodes.jsonl holds now (a stop may be followed by a SIGKILL)."""
        with self._summary_lock:
            report.write_reports(self.out, plot=False)

    # -- signals ---------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> dict[int, Any]:
        """SIGINT/SIGTERM: the first stops after the current turn, the second writes the reports and exits."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        restore = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            restore[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)
        return restore

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop.signals += 1
        name = signal.Signals(signum).name
        if self.stop.signals == 1:
            with self.progress_state.lock:
                in_flight = self.progress_state.in_flight
            self.stop.interrupt(f"{name}")
            self.progress_state.say(
                f"r1ci bench: {name}: stopping {in_flight} episode(s) in flight after their "
                f"current turn (finished episodes are saved); {name} again to quit now"
            )
            self._refresh_summary()
            return
        print(f"\nr1ci bench: {name} again: writing the reports and quitting", file=sys.stderr, flush=True)
        self._close(time.perf_counter() - self.started)
        report.write_reports(self.out)
        print(f"r1ci bench: stopped; continue with: {resume_command(self.argv)}", file=sys.stderr, flush=True)
        os._exit(128 + signum)


def run_bench(agent: str | Agent, *, out: Path | str, **options: Any) -> BenchResult:
    """Run the benchmark; see the module docstring and `BenchRun` for the options. `agent` is a spec
    (built with `make_agent(spec, **agent_options)`) or an `Agent` (then `agent_options` must be
    empty). `sandbox` is a backend name or a `Sandbox` object. Raises `BenchError` when it cannot start."""
    import r1ci_env  # noqa: F401 - registers the environments

    run = BenchRun(agent, out=out, **options)
    run.prepare()
    return run.execute()


def _unavailable_tasks(task_list: list[str], make_kwargs: dict[str, Any], seed: int) -> dict[str, str]:
    """{task: error} for the tasks whose env cannot be made or reset here (data missing, say)."""
    import gymnasium as gym

    from r1ci_env.tasks.registry import env_id

    unavailable = {}
    for name in task_list:
        try:
            env = gym.make(env_id(name), disable_env_checker=True, **make_kwargs)
            try:
                env.reset(seed=seed)
            finally:
                env.close()
        except Exception as exc:  # reported per task; the others still run
            unavailable[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    return unavailable


# ------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `r1ci bench` options."""
    parser.add_argument(
        "--agent", help="agent spec: oracle, null, human, hf:<model path>, openai:<model>, vllm:<model path>"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--suite",
        help="a suite: paper, train, test, symbench, bbh, reasoning_gym, execution, planning, reasoning, extra",
    )
    which.add_argument("--tasks", help="comma-separated task names or gym ids (see `r1ci list`)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="questions per task")
    parser.add_argument("--seed", type=int, default=0, help="first question seed; question i of a task uses seed+i")
    parser.add_argument(
        "--samples-per-question",
        type=int,
        default=1,
        metavar="K",
        help="episodes per question (pass@1 with its standard error, pass@k, maj@k)",
    )
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="episodes played at once")
    parser.add_argument("--out", help="output directory (default: runs/<agent>-<suite>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue a partial run in --out, skipping episodes it already holds"
    )
    add_episode_arguments(parser)
    parser.add_argument(
        "--retries", type=int, default=DEFAULT_RETRIES, help="retries of an episode after an infrastructure error"
    )
    parser.add_argument(
        "--max-identical-errors",
        type=int,
        default=DEFAULT_MAX_IDENTICAL_ERRORS,
        help="stop the run after this many episodes lost to the same error (0: never)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--report-only", action="store_true", help="only rebuild summary.md/csv and plot.png from the files in --out"
    )


def add_episode_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `r1ci run` and `r1ci bench`: prompt, env limits, sandbox, agent sampling."""
    parser.add_argument(
        "--prompt-style",
        default="code_interpreter",
        choices=PROMPT_STYLES,
        help="prompt; text_only also sets --max-code-calls 0",
    )
    parser.add_argument(
        "--max-code-calls",
        type=int,
        default=None,
        help="code calls allowed per episode (default: 5; 0 with --prompt-style text_only)",
    )
    parser.add_argument("--code-timeout", type=float, default=None, help="seconds per code run (default: 10)")
    parser.add_argument(
        "--sandbox",
        default="docker",
        choices=("docker", "remote", "local"),
        help="sandbox backend (remote: the `r1ci sandbox serve` servers in $R1CI_SANDBOX_URLS)",
    )
    parser.add_argument(
        "--sampling-seed",
        type=int,
        default=0,
        help="seed of the agents' sampling; each sample's seed is derived from it, the task, the "
        "question and the sample index",
    )
    parser.add_argument(
        "--env-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a task knob or env setting, e.g. difficulty=3 (see `r1ci list --task X`; VALUE is "
        "parsed as JSON when it can be); repeatable",
    )
    parser.add_argument(
        "--import-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (e.g. one that registers custom tasks); repeatable",
    )
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature (model agents)")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling top-p (model agents)")
    parser.add_argument("--max-tokens", type=int, default=None, help="max new tokens per turn (model agents)")
    parser.add_argument(
        "--agent-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other agent option, e.g. base_url=http://127.0.0.1:8000/v1, conversation=continue, "
        "max_concurrency=64 (VALUE is parsed as JSON when it can be); repeatable",
    )


def parse_key_values(items: list[str], flag: str) -> dict[str, Any]:
    """`["a=1", "b=x"]` -> `{"a": 1, "b": "x"}` (values parsed as JSON when they can be)."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"{flag} wants KEY=VALUE, got {item!r}")
        try:
            options[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.strip().replace("-", "_")] = value
    return options


def agent_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The agent options given on the command line (only those given)."""
    options = {
        name: getattr(args, name)
        for name in ("temperature", "top_p", "max_tokens")
        if getattr(args, name, None) is not None
    }
    options.update(parse_key_values(getattr(args, "agent_option", []), "--agent-option"))
    return options


def import_modules(names: list[str]) -> None:
    """Import each `--import-module` (custom tasks register themselves on import)."""
    import importlib

    for name in names or []:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise BenchError(f"--import-module {name}: {exc}") from None


def _default_out(agent: str, suite: str | None) -> Path:
    slug = re.sub(
        r"[^A-Za-z0-9._-]+",
        "_",
        agent.split("/")[-1]
        if ":" not in agent
        else agent.split(":", 1)[0] + "-" + agent.split(":", 1)[1].rstrip("/").split("/")[-1],
    )
    return Path("runs") / f"{slug}-{suite or 'tasks'}"


def bench_command(args: argparse.Namespace) -> int:
    """`r1ci bench`. Exit status: 0 all episodes scored; 1 some episodes not scored (see errors.jsonl);
    2 could not start or stopped on an error; 128+signal when stopped by a signal."""
    if args.report_only:
        if not args.out:
            raise BenchError("--report-only needs --out")
        summary = report.write_reports(args.out)
        print(
            f"{Path(args.out) / report.SUMMARY_MD}: pass@1 {report.pct(summary['overall']['accuracy'])} % "
            f"over {summary['overall']['episodes']} episodes"
        )
        return 0
    if not args.agent or not (args.suite or args.tasks):
        raise BenchError("--agent and one of --suite / --tasks are required")
    import_modules(args.import_module)
    options = agent_options_from_args(args)
    kind, _ = parse_agent_spec(args.agent)
    if kind == "openai":
        options.setdefault("max_concurrency", args.concurrency)
    out = Path(args.out) if args.out else _default_out(args.agent, args.suite)
    argv = sys.argv[1:] if sys.argv else None
    run = BenchRun(
        args.agent,
        out=out,
        suite=args.suite,
        tasks=args.tasks,
        n=args.n,
        seed=args.seed,
        samples=args.samples_per_question,
        sampling_seed=args.sampling_seed,
        concurrency=args.concurrency,
        resume=args.resume,
        prompt_style=args.prompt_style,
        max_code_calls=args.max_code_calls,
        code_timeout=args.code_timeout,
        sandbox=args.sandbox,
        retries=args.retries,
        agent_options=options,
        progress=not args.no_progress,
        argv=argv,
        env_options=parse_key_values(args.env_option, "--env-option"),
        max_identical_errors=args.max_identical_errors,
        handle_signals=True,
    )
    run.prepare()
    result = run.execute()
    overall = result.summary["overall"]
    with_setup = run.this_run.get("seconds_with_setup")
    print(
        f"{result.episodes_run} episode(s) run, {result.episodes_skipped} already done, {result.lost} not scored "
        f"(errors: {result.errors}); {result.seconds:.1f} s, {result.episodes_per_second:.2f} episodes/s "
        f"({with_setup:.1f} s with setup)"
    )
    print(
        f"pass@1 {report.pct(overall['accuracy'])} % over {overall['tasks']} task(s), "
        f"{overall['episodes']} episode(s); results in {result.out}/ ({report.SUMMARY_MD}, {report.SUMMARY_CSV}, "
        f"{report.PLOT_FILE}, {report.EPISODES_FILE}, {report.MANIFEST_FILE})"
    )
    if result.aborted or result.interrupted:
        print(
            f"r1ci bench: stopped ({result.aborted or result.interrupted and run.stop.reason}); continue with: "
            f"{resume_command(run.argv)}",
            file=sys.stderr,
        )
    if result.interrupted:
        signum = getattr(signal, str(run.stop.reason), signal.SIGINT)
        return 128 + int(signum)
    if result.aborted:
        return 2
    return 1 if result.lost else 0
