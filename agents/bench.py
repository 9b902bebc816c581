"""`r1ci bench`: play N episodes of every task of a suite (or task list) with one agent, concurrently, and
write transcripts, a summary beside the published references, a plot and a manifest.

Episodes: task t, seeds `seed .. seed+n-1` (key = (task, seed); scheduled round-robin over tasks so a
partial run covers every task). They run in a thread pool of `concurrency` workers through
`run_episode`, one env per episode; all envs of the process share one sandbox pool (one per backend).
Model-backed agents share their model, client or engine across episodes (`fresh_agent`).

Files in the output directory:
- `episodes.jsonl`: one JSON line per finished episode, written and flushed as soon as it ends (a kill
  loses at most the episodes in flight). Fields: task, seed, instance_id, reward, correct, answer,
  code_calls, turns, terminated, truncated, exec_errors, exec_timeouts, category, source, split, agent,
  prompt_style, attempts, started_at, seconds, seconds_agent, seconds_env, transcript, and agent_stats
  (token counts, requests, retries, finish reasons) when the agent keeps them.
- `errors.jsonl`: one line per failed attempt: task, seed, kind ("infra": a `SandboxError` or an
  `AgentError` from the agent's backend; "exception": anything else, a bug), error, attempt, final
  (no more retries), fatal, at. Infra errors are retried `retries` times (a fresh env and agent each
  time) and never scored as wrong answers; an "exception" is not retried.
- `summary.md`, `summary.csv`, `plot.png`, `manifest.json`: see `agents.report`.

`resume=True` continues a run in the same directory: episodes already in episodes.jsonl are skipped
(a line cut short by a kill is discarded first), everything else runs. The agent, prompt and code-call
settings must match the manifest's; n, seed and tasks may differ (a resumed run can extend one).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import fresh_agent, make_agent, parse_agent_spec
from .base import Agent
from .episode import run_episode
from .errors import AgentError
from . import report

DEFAULT_N = 20
DEFAULT_CONCURRENCY = 8
DEFAULT_RETRIES = 2
PROMPT_STYLES = ("code_interpreter", "text_only", "code_always")
# Settings a resumed run must share with the run it continues (else the episodes would not be comparable).
RESUME_MUST_MATCH = ("agent", "prompt_style", "prompt_sha256", "max_code_calls", "code_timeout")


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

    @property
    def episodes_per_second(self) -> float:
        return self.episodes_run / self.seconds if self.seconds > 0 else 0.0


class _JsonlWriter:
    """Appends JSON lines, one flush per line, safe from many threads."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self._handle.write(line)
            self._handle.flush()

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


def resolve_tasks(suite: str | None = None, tasks: list[str] | str | None = None) -> tuple[list[str], list[str]]:
    """(tasks to run, suite tasks that are not registered here). A task named in `tasks` must exist."""
    import r1ci_env  # noqa: F401 - registers the environments
    from r1ci_env.tasks import task_names, task_spec

    if (suite is None) == (tasks is None):
        raise BenchError("give exactly one of a suite (--suite) or a task list (--tasks)")
    if tasks is not None:
        names = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
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


def _redact(options: dict[str, Any]) -> dict[str, Any]:
    secret = re.compile(r"key|secret|password|auth", re.I)
    return {k: ("***" if secret.search(k) else v) for k, v in options.items() if k not in ("input", "output")}


def run_bench(agent: str | Agent, *, out: Path | str, suite: str | None = None, tasks: list[str] | str | None = None,
              n: int = DEFAULT_N, seed: int = 0, concurrency: int = DEFAULT_CONCURRENCY, resume: bool = False,
              prompt_style: str = "code_interpreter", max_code_calls: int | None = None,
              code_timeout: float | None = None, sandbox: Any = "docker", retries: int = DEFAULT_RETRIES,
              retry_delay: float = 1.0, agent_options: dict[str, Any] | None = None, progress: bool = True,
              argv: list[str] | None = None, env_options: dict[str, Any] | None = None) -> BenchResult:
    """Run the benchmark; see the module docstring. `agent` is a spec (built with `make_agent(spec,
    **agent_options)`) or an `Agent` (then `agent_options` must be empty). `sandbox` is a backend name
    or a `Sandbox` object. Raises `BenchError` when it cannot start."""
    import gymnasium as gym

    import r1ci_env  # noqa: F401 - registers the environments
    from r1ci_env import protocol
    from r1ci_env.sandbox import SandboxError, shared_sandbox
    from r1ci_env.tasks.registry import env_id

    if n < 1:
        raise BenchError(f"--n must be >= 1, got {n}")
    if concurrency < 1:
        raise BenchError(f"--concurrency must be >= 1, got {concurrency}")
    if retries < 0:
        raise BenchError(f"--retries must be >= 0, got {retries}")
    protocol.prompt_template(prompt_style)  # a style name or a template; raises ValueError otherwise
    agent_options = dict(agent_options or {})
    task_list, missing = resolve_tasks(suite, tasks)
    if not task_list:
        raise BenchError(f"no task of suite {suite!r} is registered here")
    if max_code_calls is None:
        max_code_calls = default_max_code_calls(prompt_style)
    if code_timeout is None:
        from r1ci_env.sandbox import DEFAULT_TIMEOUT

        code_timeout = DEFAULT_TIMEOUT
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    episodes_path, errors_path = out / report.EPISODES_FILE, out / report.ERRORS_FILE

    # --- the agent
    if isinstance(agent, str):
        spec = agent
        parse_agent_spec(spec)
        base_agent = make_agent(spec, **agent_options)
    else:
        if agent_options:
            raise BenchError("agent_options only apply to an agent spec, not to an Agent object")
        base_agent, spec = agent, getattr(agent, "name", type(agent).__name__)
    if getattr(base_agent, "interactive", False):  # the human agent: one episode at a time, no progress bar
        concurrency, progress = 1, False

    # --- the manifest (and the resume check)
    prompt_hash = report.prompt_sha256(prompt_style)
    this_run = {
        "started_at": report.now_iso(), "argv": list(argv) if argv is not None else sys.argv[1:],
        "tasks": task_list, "n": n, "seed": seed, "concurrency": concurrency, "retries": retries,
        "sandbox": sandbox if isinstance(sandbox, str) else type(sandbox).__name__,
    }
    settings = {"agent": spec, "agent_options": _redact(agent_options), "prompt_style": prompt_style,
                "prompt_sha256": prompt_hash, "max_code_calls": max_code_calls, "code_timeout": code_timeout,
                "env_options": env_options or {}}
    existing = report.read_jsonl(episodes_path)
    if existing and not resume:
        raise BenchError(f"{episodes_path} already holds {len(existing)} episode(s): pass --resume to continue "
                         "that run, or choose another --out")
    previous = report.load_manifest(out) if resume else None
    if not resume:  # a fresh run: nothing left over from an earlier attempt that scored no episode
        for path in (episodes_path, errors_path):
            path.write_bytes(b"")
    if resume and previous:
        different = [k for k in RESUME_MUST_MATCH if previous.get(k) != settings.get(k)]
        if different:
            raise BenchError("cannot resume: this run's " + ", ".join(
                f"{k}={settings.get(k)!r} (was {previous.get(k)!r})" for k in different) + f" differ from {out}")
    manifest = dict(previous) if (resume and previous) else {"created_at": this_run["started_at"]}
    all_tasks = list(dict.fromkeys(list(manifest.get("tasks", [])) + task_list))
    manifest.update(settings)
    manifest.update({
        "suite": suite if (not previous or previous.get("suite") in (None, suite)) else "mixed",
        "tasks": all_tasks, "missing_tasks": missing, "n": max(n, int(manifest.get("n") or 0)),
        "seed": seed if not previous else min(seed, int(previous.get("seed", seed))),
        "sandbox": report.sandbox_description(sandbox), **report.environment_facts(),
    })
    manifest.setdefault("runs", []).append(this_run)
    if resume:
        repair_jsonl(episodes_path)
        repair_jsonl(errors_path)

    # --- tasks that cannot make a question here (data not available, say): skipped from a suite, fatal
    # when named in --tasks
    make_kwargs = {"sandbox": sandbox, "prompt": prompt_style, "max_code_calls": max_code_calls,
                   "timeout": code_timeout, **(env_options or {})}
    unavailable = _unavailable_tasks(task_list, make_kwargs, seed)
    if unavailable and tasks is not None:
        raise BenchError("cannot make questions for " + "; ".join(f"{k}: {v}" for k, v in unavailable.items()))
    for name, error in unavailable.items():
        print(f"r1ci bench: skipping {name}: {error}", file=sys.stderr)
    task_list = [name for name in task_list if name not in unavailable]
    if not task_list:
        raise BenchError("no task of the suite can make questions here")
    manifest["unavailable_tasks"] = unavailable
    this_run["tasks"] = task_list
    manifest["tasks"] = [t for t in manifest["tasks"] if t not in unavailable or t in (previous or {}).get("tasks", [])]

    done = {report.episode_key(record) for record in report.read_jsonl(episodes_path)}
    keys = [(task, seed + i) for i in range(n) for task in task_list]
    pending = [key for key in keys if key not in done]
    skipped = len(keys) - len(pending)
    this_run.update({"episodes_skipped": skipped, "episodes_pending": len(pending)})  # known now, kept if killed

    # --- the sandbox: fail fast (and warm the pool up) before any episode starts
    if isinstance(sandbox, str) and pending and max_code_calls > 0:
        try:
            shared_sandbox(sandbox).run("print('ok')", 60.0)
        except SandboxError as exc:
            raise BenchError(f"the {sandbox} sandbox is not available: {exc}") from exc
    report.save_manifest(out, manifest)

    writer, error_writer = _JsonlWriter(episodes_path), _JsonlWriter(errors_path)
    stop = threading.Event()
    abort_reason: list[str] = []
    counters = {"run": 0, "errors": 0, "lost": 0, "reward": 0.0, "scored": 0}
    counter_lock = threading.Lock()
    bar = _progress_bar(len(keys), skipped, progress)

    def record_error(task: str, episode_seed: int, kind: str, exc: BaseException, attempt: int, final: bool,
                     fatal: bool) -> None:
        text = f"{type(exc).__name__}: {exc}"
        entry = {"task": task, "seed": episode_seed, "kind": kind, "error": text, "attempt": attempt, "final": final,
                 "fatal": fatal, "at": report.now_iso()}
        if kind == "exception":
            entry["traceback"] = traceback.format_exc()
        error_writer.write(entry)
        with counter_lock:
            counters["errors"] += 1
            counters["lost"] += final

    def play(key: tuple[str, int]) -> None:
        task, episode_seed = key
        for attempt in range(1, retries + 2):
            if stop.is_set():
                return
            started, started_at = time.perf_counter(), report.now_iso()
            env = None
            try:
                env = gym.make(env_id(task), disable_env_checker=True, **make_kwargs)
                episode_agent = fresh_agent(base_agent)
                episode = run_episode(env, episode_agent, episode_seed)
            except (SandboxError, AgentError) as exc:
                fatal = bool(getattr(exc, "fatal", False))
                retryable = not fatal and getattr(exc, "status", None) is None
                final = fatal or not retryable or attempt > retries
                record_error(task, episode_seed, "infra", exc, attempt, final, fatal)
                if fatal:
                    abort_reason.append(f"{type(exc).__name__}: {exc}")
                    stop.set()
                if final:
                    _tick(bar, counters, counter_lock)
                    return
                time.sleep(retry_delay * attempt)
                continue
            except Exception as exc:  # a bug in an agent or task: recorded, not retried, not scored
                record_error(task, episode_seed, "exception", exc, attempt, True, False)
                _tick(bar, counters, counter_lock)
                return
            finally:
                if env is not None:
                    env.close()
            record = _episode_record(episode, episode_agent, spec, prompt_style, attempt, started_at,
                                     time.perf_counter() - started)
            writer.write(record)
            with counter_lock:
                counters["run"] += 1
                counters["scored"] += 1
                counters["reward"] += record["reward"]
            _tick(bar, counters, counter_lock)
            return

    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="r1ci-bench")
    try:
        try:
            for future in [pool.submit(play, key) for key in pending]:
                future.result()
        except BaseException:  # Ctrl-C: start nothing new, let the episodes in flight end and be written
            stop.set()
            abort_reason.append("interrupted")
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        seconds = time.perf_counter() - started
        writer.close()
        error_writer.close()
        if bar is not None:
            bar.close()
        this_run.update({"finished_at": report.now_iso(), "seconds": round(seconds, 3),
                         "episodes_run": counters["run"], "errors": counters["errors"],
                         "episodes_per_second": round(counters["run"] / seconds, 4) if seconds > 0 else None,
                         "aborted": abort_reason[0] if abort_reason else None})
        if hasattr(base_agent, "client"):
            this_run["agent_peak_requests_in_flight"] = getattr(base_agent.client, "peak_in_flight", None)
        report.save_manifest(out, manifest)
    summary = report.write_reports(out)
    return BenchResult(out=out, episodes_run=counters["run"], episodes_skipped=skipped, episodes_total=len(keys),
                       errors=counters["errors"], lost=counters["lost"], seconds=seconds, summary=summary,
                       aborted=abort_reason[0] if abort_reason else None)


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


def _episode_record(episode: Any, agent: Agent, spec: str, prompt_style: str, attempt: int, started_at: str,
                    seconds: float) -> dict[str, Any]:
    info = episode.info
    record = {
        "task": episode.task, "seed": episode.seed, "instance_id": episode.instance_id,
        "reward": episode.reward, "correct": bool(info.get("correct")) if info.get("correct") is not None else False,
        "answer": episode.answer, "code_calls": episode.code_calls, "turns": episode.turns,
        "terminated": episode.terminated, "truncated": episode.truncated,
        "exec_errors": episode.exec_errors, "exec_timeouts": episode.exec_timeouts,
        "category": info.get("category"), "source": info.get("source"), "split": info.get("split"),
        "agent": spec, "prompt_style": prompt_style, "attempts": attempt, "started_at": started_at,
        "seconds": round(seconds, 4), "seconds_agent": round(episode.seconds_agent, 4),
        "seconds_env": round(episode.seconds_env, 4), "transcript": episode.transcript,
    }
    stats = getattr(agent, "episode_stats", None)
    if stats:
        record["agent_stats"] = stats
    return record


def _progress_bar(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="r1ci bench", unit="ep", dynamic_ncols=True, file=sys.stderr,
                smoothing=0.05)


def _tick(bar: Any, counters: dict[str, Any], lock: threading.Lock) -> None:
    if bar is None:
        return
    with lock:
        accuracy = counters["reward"] / counters["scored"] if counters["scored"] else 0.0
        bar.set_postfix(acc=f"{100 * accuracy:.1f}%", errors=counters["errors"], refresh=False)
        bar.update(1)


# ------------------------------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `r1ci bench` options."""
    parser.add_argument("--agent", help="agent spec: oracle, null, human, hf:<model path>, openai:<model>, "
                        "vllm:<model path>")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--suite", help="a suite: paper, train, test, symbench, bbh, reasoning_gym, execution, "
                       "planning, reasoning, extra")
    which.add_argument("--tasks", help="comma-separated task names (see `r1ci list`)")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help=f"episodes per task (default {DEFAULT_N})")
    parser.add_argument("--seed", type=int, default=0, help="first seed; episode i of a task uses seed+i")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"episodes played at once (default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--out", help="output directory (default runs/<agent>-<suite>)")
    parser.add_argument("--resume", action="store_true", help="continue a partial run in --out, skipping "
                        "episodes it already holds")
    add_episode_arguments(parser)
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES,
                        help=f"retries of an episode after an infrastructure error (default {DEFAULT_RETRIES})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--report-only", action="store_true", help="only rebuild summary.md/csv and plot.png "
                        "from the files in --out")


def add_episode_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `r1ci run` and `r1ci bench`: prompt, env limits, sandbox, agent sampling."""
    parser.add_argument("--prompt-style", default="code_interpreter", choices=PROMPT_STYLES,
                        help="prompt: code_interpreter (default), text_only (also sets --max-code-calls 0) "
                        "or code_always")
    parser.add_argument("--max-code-calls", type=int, default=None,
                        help="code calls allowed per episode (default 5; 0 with --prompt-style text_only)")
    parser.add_argument("--code-timeout", type=float, default=None, help="seconds per code run (default 10)")
    parser.add_argument("--sandbox", default="docker", choices=("docker", "remote", "local"),
                        help="sandbox backend (remote: the `r1ci sandbox serve` servers in $R1CI_SANDBOX_URLS)")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature (model agents)")
    parser.add_argument("--top-p", type=float, default=None, help="nucleus sampling top-p (model agents)")
    parser.add_argument("--max-tokens", type=int, default=None, help="max new tokens per turn (model agents)")
    parser.add_argument("--agent-option", action="append", default=[], metavar="KEY=VALUE",
                        help="any other agent option, e.g. base_url=http://127.0.0.1:8000/v1, conversation=continue, "
                        "max_concurrency=64 (VALUE is parsed as JSON when it can be); repeatable")


def agent_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The agent options given on the command line (only those given)."""
    options: dict[str, Any] = {}
    for name in ("temperature", "top_p", "max_tokens"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    for item in getattr(args, "agent_option", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"--agent-option wants KEY=VALUE, got {item!r}")
        try:
            options[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.strip().replace("-", "_")] = value
    return options


def _default_out(agent: str, suite: str | None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", agent.split("/")[-1] if ":" not in agent else
                  agent.split(":", 1)[0] + "-" + agent.split(":", 1)[1].rstrip("/").split("/")[-1])
    return Path("runs") / f"{slug}-{suite or 'tasks'}"


def bench_command(args: argparse.Namespace) -> int:
    """`r1ci bench`. Exit status: 0 all episodes scored; 1 some episodes not scored (see errors.jsonl);
    2 could not start or stopped on a fatal error."""
    if args.report_only:
        if not args.out:
            print("r1ci bench: --report-only needs --out", file=sys.stderr)
            return 2
        summary = report.write_reports(args.out)
        print(f"{Path(args.out) / report.SUMMARY_MD}: accuracy {report._pct(summary['overall']['accuracy'])} % "
              f"over {summary['overall']['episodes']} episodes")
        return 0
    if not args.agent or not (args.suite or args.tasks):
        print("r1ci bench: --agent and one of --suite / --tasks are required", file=sys.stderr)
        return 2
    try:
        options = agent_options_from_args(args)
        kind, _ = parse_agent_spec(args.agent)
        if kind == "openai":
            options.setdefault("max_concurrency", args.concurrency)
        out = Path(args.out) if args.out else _default_out(args.agent, args.suite)
        result = run_bench(args.agent, out=out, suite=args.suite, tasks=args.tasks, n=args.n, seed=args.seed,
                           concurrency=args.concurrency, resume=args.resume, prompt_style=args.prompt_style,
                           max_code_calls=args.max_code_calls, code_timeout=args.code_timeout, sandbox=args.sandbox,
                           retries=args.retries, agent_options=options, progress=not args.no_progress,
                           argv=sys.argv[1:] if sys.argv else None)
    except (BenchError, ValueError, TypeError, ImportError) as exc:
        print(f"r1ci bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("r1ci bench: interrupted; finished episodes are saved, continue with --resume", file=sys.stderr)
        return 130
    overall = result.summary["overall"]
    print(f"{result.episodes_run} episode(s) run, {result.episodes_skipped} already done, {result.lost} not scored "
          f"(errors: {result.errors}); {result.seconds:.1f} s, {result.episodes_per_second:.2f} episodes/s")
    print(f"accuracy {report._pct(overall['accuracy'])} % over {overall['tasks']} task(s), "
          f"{overall['episodes']} episode(s); results in {result.out}/ ({report.SUMMARY_MD}, {report.SUMMARY_CSV}, "
          f"{report.PLOT_FILE}, {report.EPISODES_FILE}, {report.MANIFEST_FILE})")
    if result.aborted:
        print(f"r1ci bench: stopped on a fatal agent error: {result.aborted}", file=sys.stderr)
        return 2
    return 1 if result.lost else 0
