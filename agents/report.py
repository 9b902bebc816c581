"""What a benchmark run leaves behind, besides its episodes: `summary.md`, `summary.csv`, `plot.png`
and `manifest.json`, all rebuilt from `episodes.jsonl` and `errors.jsonl` (so a resumed run reports
every episode it holds).

pass@1 of a task is the mean reward (1.0 for a correct final answer; a few checkers give partial
credit), averaged first over the samples of each question and then over questions; its standard error
is the one of that mean over questions (samples of one question are not independent). With k samples
per question, pass@k is the unbiased estimate of Chen et al. (2021) and maj@k scores the most frequent
answer. Averages over a split, source or category are macro averages: every task weighs the same, as in
the papers, with standard error sqrt(sum of squared task errors) / tasks. The plot shows 95 % intervals
(1.96 standard errors) and n per task. Token columns and stop reasons come from each episode's turns.
Published references (CodeSteer's GPT-4o numbers, and the R1-CI paper's test-suite headline) are shown
beside the measured numbers and labelled as such: they were measured on other samples, and the paper's
train/test split is not this project's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

EPISODES_FILE = "episodes.jsonl"
ERRORS_FILE = "errors.jsonl"
SUMMARY_MD = "summary.md"
SUMMARY_CSV = "summary.csv"
PLOT_FILE = "plot.png"
MANIFEST_FILE = "manifest.json"

# CodeSteer Table 1 (success rate %, on CodeSteer's samples): GPT-4o text only, GPT-4o + OpenAI Code
# Interpreter. Published numbers, not this project's results; keyed by this project's task names.
REFERENCE_SOURCE = "CodeSteer (SymBench) Table 1, GPT-4o, on CodeSteer's own samples"
REFERENCES: dict[str, tuple[float, float]] = {
    "Game24": (17, 18),
    "PathPlan": (65, 54),
    "BoxLift": (69, 49),
    "BoxNet": (37, 37),
    "BlocksWorld": (43, 42),
    "bbh.date_understanding": (90, 76),
    "bbh.web_of_lies": (96, 94),
    "bbh.logical_deduction_seven_objects": (89, 82),
    "bbh.navigate": (98, 98),
    "GSMHard": (78, 79),
    "MathGeometry": (76, 73),
    "MathCountingProbability": (89, 89),
    "LogicalEquation": (52, 71),
    "NewOperator": (42, 48),
    "Pooling": (54, 49),
    "NumberMultiply": (11, 75),
    "StringSplitting": (28, 43),
    "SynthesisDecomposition": (52, 72),
    "PermutationsCombinations": (66, 75),
    "LightPuzzles": (62, 95),
    "Mahjong": (66, 64),
    "StatisticalCounting": (34, 89),
    "MatrixTransformation": (94, 90),
    "LogicalPuzzle": (48, 68),
    "ConstrainedLinearArrangement": (82, 72),
    "PatternRecognition": (70, 100),
    "StringInsertion": (6, 89),
    "LetterLogicDiagram": (2, 8),
    "StringDeletionModification": (4, 49),
    "StringSynthesis": (0, 12),
    "Reversi": (8, 23),
    "StandardSudoku": (0, 100),
    "Letters": (12, 89),
    "EightQueens": (8, 44),
    "Cryptanalysis": (20, 0),
    "CombinatorialCalculation": (16, 57),
    "Game2048": (44, 49),
}
# The R1-CI paper (arXiv 2505.21668): average accuracy over ITS 37 test tasks.
PAPER_HEADLINE: tuple[tuple[str, float], ...] = (
    ("Qwen2.5-14B (base)", 44.0),
    ("GPT-4o, text only", 58.6),
    ("GPT-4o + Code Interpreter", 70.9),
    ("R1-CI-14B (first version)", 64.1),
    ("R1-CI-14B (later version, curriculum)", 72.4),
)
PACKAGES = (
    "r1ci",
    "gymnasium",
    "numpy",
    "tqdm",
    "docker",
    "reasoning-gym",
    "sympy",
    "torch",
    "transformers",
    "peft",
    "vllm",
    "matplotlib",
    "openai",
    "tabulate",
)


# ------------------------------------------------------------------------------------------ files


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """The records of a JSON-lines file; a missing file is empty, and lines that do not parse (a line cut
    short by a kill) are skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with path.open("rb") as handle:
        for raw in handle:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def episode_key(record: dict[str, Any]) -> tuple[str, int, int]:
    """(task, question seed, sample index); lines written before samples existed are sample 0."""
    return str(record["task"]), int(record["seed"]), int(record.get("sample", 0))


def unique_episodes(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (task, seed, sample): the first one written."""
    seen: dict[tuple[str, int, int], dict[str, Any]] = {}
    for record in records:
        seen.setdefault(episode_key(record), record)
    return list(seen.values())


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `path` through a temporary file and a rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------- manifest


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def prompt_sha256(prompt_style: str) -> str:
    from r1ci_env import protocol

    return hashlib.sha256(protocol.prompt_template(prompt_style).encode("utf-8")).hexdigest()


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
SAMPLED_BYTES = 1 << 20


def weights_fingerprint(spec: str) -> dict[str, Any] | None:
    """For an agent spec naming a local model directory (`hf:<dir>`, `vllm:<dir>`): the weight files'
    names and sizes, and a sha256 over each file's name, size, first and last MiB (a cheap fingerprint
    that tells checkpoints apart without reading gigabytes). None for anything else."""
    _, _, path = spec.partition(":")
    root = Path(path)
    if not path or not root.is_dir():
        return None
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name == "config.json")
    )
    digest = hashlib.sha256()
    for file in files:
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root).as_posix()}:{size}:".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(SAMPLED_BYTES))
            if size > 2 * SAMPLED_BYTES:
                handle.seek(-SAMPLED_BYTES, os.SEEK_END)
                digest.update(handle.read(SAMPLED_BYTES))
    return {
        "path": str(root.resolve()),
        "files": {f.relative_to(root).as_posix(): f.stat().st_size for f in files},
        "sha256_sampled": digest.hexdigest(),
    }


def sandbox_description(sandbox: Any) -> dict[str, Any]:
    """The backend, and for docker the image and its digest (the exact image the run used)."""
    if not isinstance(sandbox, str):
        return {"backend": getattr(sandbox, "backend", type(sandbox).__name__), "object": type(sandbox).__name__}
    description: dict[str, Any] = {"backend": sandbox}
    if sandbox == "docker":
        from r1ci_env import settings
        from r1ci_env.sandbox import image

        description["image"] = settings.sandbox_image()
        try:
            description["image_digest"] = image.image_digest(description["image"])
        except Exception as exc:  # the manifest records what it could not learn
            description["image_digest"] = None
            description["image_digest_error"] = f"{type(exc).__name__}: {exc}"
    return description


def git_commit() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment_facts() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": package_versions(),
        "git_commit": git_commit(),
    }


def load_manifest(out: Path) -> dict[str, Any] | None:
    path = Path(out) / MANIFEST_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def save_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_atomic(Path(out) / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")


# ------------------------------------------------------------------------------------- aggregation


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def standard_error(values: list[float]) -> float | None:
    """Standard error of the mean of `values` (sample standard deviation / sqrt(n)); None below 2 values."""
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from n samples of which c are correct (Chen et al., 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def _by_question(episodes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for episode in episodes:
        groups[int(episode["seed"])].append(episode)
    return [groups[seed] for seed in sorted(groups)]


def _majority_correct(samples: list[dict[str, Any]]) -> float:
    """1.0 when the most frequent answer among the samples (first seen wins a tie) is correct."""
    answers = [s for s in samples if s.get("answer") is not None]
    if not answers:
        return 0.0
    counts = Counter(str(s["answer"]).strip() for s in answers)
    best = max(counts.values())
    winner = next(a for a in (str(s["answer"]).strip() for s in answers) if counts[a] == best)
    return max(float(s["reward"]) for s in answers if str(s["answer"]).strip() == winner)


def _turn_list(episode: dict[str, Any]) -> list[dict[str, Any]]:
    """The episode's turns; [] for records written before turns were kept (`turns` was a count)."""
    turns = episode.get("turns")
    return [t for t in turns if isinstance(t, dict)] if isinstance(turns, list) else []


def _stop_reasons(episodes: list[dict[str, Any]]) -> Counter:
    return Counter(
        str(turn["stop_reason"]) for e in episodes for turn in _turn_list(e) if turn.get("stop_reason") is not None
    )


def _num_turns(episode: dict[str, Any]) -> float:
    value = episode.get("num_turns", episode.get("turns", 0))
    return float(len(value) if isinstance(value, list) else value)


def task_stats(episodes: list[dict[str, Any]], k: int = 1) -> dict[str, Any]:
    """pass@1 with its standard error over questions, pass@k and maj@k (k samples per question), and the
    health, token and stop-reason numbers of some episodes of one task."""
    n = len(episodes)
    questions = _by_question(episodes)
    question_means = [_mean([float(e["reward"]) for e in q]) for q in questions]
    calls = sum(int(e.get("code_calls", 0)) for e in episodes)
    errors = sum(int(e.get("exec_errors", 0)) for e in episodes)
    timeouts = sum(int(e.get("exec_timeouts", 0)) for e in episodes)
    full = [q for q in questions if len(q) >= k]
    reasons = _stop_reasons(episodes)
    last_reasons = [str(_turn_list(e)[-1].get("stop_reason")) for e in episodes if _turn_list(e)]
    prompt_tokens = [float(e["prompt_tokens"]) for e in episodes if e.get("prompt_tokens") is not None]
    completion = [float(e["completion_tokens"]) for e in episodes if e.get("completion_tokens") is not None]
    return {
        "episodes": n,
        "questions": len(questions),
        "accuracy": _mean(question_means),
        "stderr": standard_error(question_means),
        "pass_at_k": _mean([pass_at_k(len(q), sum(float(e["reward"]) >= 1.0 for e in q), k) for q in full])
        if k > 1
        else None,
        "maj_at_k": _mean([_majority_correct(q) for q in full]) if k > 1 else None,
        "solved": sum(float(e["reward"]) >= 1.0 for e in episodes),
        "code_use": _mean([1.0 if int(e.get("code_calls", 0)) > 0 else 0.0 for e in episodes]),
        "calls_per_episode": calls / n if n else None,
        "code_calls": calls,
        "code_error_rate": errors / calls if calls else None,
        "code_timeout_rate": timeouts / calls if calls else None,
        "answered": _mean([1.0 if e.get("answer") is not None else 0.0 for e in episodes]),
        "cap_hit": _mean([1.0 if e.get("truncated") else 0.0 for e in episodes]),
        "token_limit_hit": _mean([1.0 if r in TOKEN_LIMIT_REASONS else 0.0 for r in last_reasons]),
        "turns_per_episode": _mean([_num_turns(e) for e in episodes]),
        "prompt_tokens_per_episode": _mean(prompt_tokens),
        "completion_tokens_per_episode": _mean(completion),
        "stop_reasons": dict(reasons.most_common()),
        "seconds_per_episode": _mean([float(e.get("seconds", 0.0)) for e in episodes]),
    }


# Stop reasons that mean the model was cut off by a token budget rather than stopping by itself.
TOKEN_LIMIT_REASONS = frozenset({"length", "context", "context_length"})


def summarize(
    episodes: list[dict[str, Any]], errors: list[dict[str, Any]], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the summary files show, as plain data."""
    manifest = manifest or {}
    k = int(manifest.get("samples_per_question") or 1)
    episodes = unique_episodes(episodes)
    done = {episode_key(e) for e in episodes}
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for episode in episodes:
        by_task[episode["task"]].append(episode)
    order = [t for t in manifest.get("tasks", []) if t in by_task] + sorted(
        t for t in by_task if t not in manifest.get("tasks", [])
    )
    tasks = []
    for name in order:
        first = by_task[name][0]
        row = {
            "task": name,
            "split": first.get("split"),
            "source": first.get("source"),
            "category": first.get("category"),
            **task_stats(by_task[name], k),
        }
        ref = REFERENCES.get(name)
        row["ref_gpt4o_text"], row["ref_gpt4o_ci"] = ref if ref else (None, None)
        tasks.append(row)
    groups = []
    for level in ("split", "source", "category"):
        for value in sorted({row[level] for row in tasks if row[level] is not None}):
            groups.append(_group_row(level, value, [row for row in tasks if row[level] == value]))
    overall = {**_group_row("all", "all tasks", tasks), "micro_accuracy": _mean([float(e["reward"]) for e in episodes])}
    lost = {}
    for error in errors:
        key = (str(error.get("task")), int(error.get("seed", -1)), int(error.get("sample", 0)))
        if error.get("final") and key not in done:
            lost[key] = error
    infra_events = [e for e in errors if e.get("kind") == "infra"]
    return {
        "samples_per_question": k,
        "tasks": tasks,
        "groups": groups,
        "overall": overall,
        "health": {
            key: v
            for key, v in task_stats(episodes).items()
            if key not in ("accuracy", "stderr", "solved", "pass_at_k", "maj_at_k")
        },
        "errors": {
            "infra_events": len(infra_events),
            "infra_retried_then_completed": len(
                {(e.get("task"), e.get("seed"), e.get("sample", 0)) for e in infra_events} & done
            ),
            "lost_infra": sum(1 for e in lost.values() if e.get("kind") == "infra"),
            "lost_other": sum(1 for e in lost.values() if e.get("kind") != "infra"),
            "lost": [
                {"task": key[0], "seed": key[1], "sample": key[2], "kind": e.get("kind"), "error": e.get("error")}
                for key, e in sorted(lost.items())
            ],
        },
        "missing_tasks": manifest.get("missing_tasks", []),
        "unavailable_tasks": manifest.get("unavailable_tasks", {}),
    }


def _group_row(level: str, value: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Macro averages over the tasks of a group; the standard error of a macro average of independent
    task means is sqrt(sum of squared task errors) / tasks (None when a task has no error estimate)."""
    with_ref = [row for row in rows if row["ref_gpt4o_text"] is not None]
    errors = [row["stderr"] for row in rows]
    return {
        "level": level,
        "name": value,
        "tasks": len(rows),
        "episodes": sum(row["episodes"] for row in rows),
        "questions": sum(row["questions"] for row in rows),
        "accuracy": _mean([row["accuracy"] for row in rows]),
        "stderr": math.sqrt(sum(e * e for e in errors)) / len(rows) if rows and None not in errors else None,
        "pass_at_k": _mean([row["pass_at_k"] for row in rows if row["pass_at_k"] is not None]),
        "maj_at_k": _mean([row["maj_at_k"] for row in rows if row["maj_at_k"] is not None]),
        "code_use": _mean([row["code_use"] for row in rows]),
        "calls_per_episode": _mean([row["calls_per_episode"] for row in rows]),
        "completion_tokens_per_episode": _mean(
            [row["completion_tokens_per_episode"] for row in rows if row["completion_tokens_per_episode"] is not None]
        ),
        "token_limit_hit": _mean([row["token_limit_hit"] for row in rows if row["token_limit_hit"] is not None]),
        "tasks_with_ref": len(with_ref),
        "accuracy_on_ref_tasks": _mean([row["accuracy"] for row in with_ref]),
        "ref_gpt4o_text": _mean([row["ref_gpt4o_text"] for row in with_ref]),
        "ref_gpt4o_ci": _mean([row["ref_gpt4o_ci"] for row in with_ref]),
    }


# ------------------------------------------------------------------------------------------ output


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage with `digits` decimals; "-" for None."""
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ref(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _pm(row: dict[str, Any]) -> str:
    """pass@1 % ± its standard error."""
    if row["accuracy"] is None:
        return "-"
    return pct(row["accuracy"]) + ("" if row.get("stderr") is None else f" ± {pct(row['stderr'])}")


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in reasons.items()) or "-"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + "\n"


def render_markdown(summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    out = io.StringIO()
    w = out.write
    overall, health, errors = summary["overall"], summary["health"], summary["errors"]
    k = summary["samples_per_question"]
    w(f"# r1ci benchmark: `{manifest.get('agent', '?')}`\n\n")
    runs = manifest.get("runs", [])
    w(
        f"- tasks: {overall['tasks']} ({manifest.get('suite') or 'task list'}), episodes scored: "
        f"{overall['episodes']} ({overall['questions']} questions x up to {k} sample(s)), question seeds "
        f"{manifest.get('seed', 0)}..{manifest.get('seed', 0) + manifest.get('n', 1) - 1} per task, sampling seed "
        f"{manifest.get('sampling_seed', 0)}\n"
    )
    w(
        f"- prompt style: `{manifest.get('prompt_style')}` (sha256 {str(manifest.get('prompt_sha256'))[:12]}), "
        f"max code calls {manifest.get('max_code_calls')}, code timeout {manifest.get('code_timeout')} s, "
        f"sandbox {manifest.get('sandbox', {}).get('backend')}\n"
    )
    if runs:
        last = runs[-1]
        w(
            f"- runs: {len(runs)}; last: {last.get('episodes_run', 0)} episodes in {_num(last.get('seconds'), 1)} s "
            f"({_num(last.get('episodes_per_second'), 2)} episodes/s; {_num(last.get('seconds_with_setup'), 1)} s and "
            f"{_num(last.get('episodes_per_second_with_setup'), 2)} episodes/s with setup) at concurrency "
            f"{last.get('concurrency')}{'; stopped: ' + str(last['stopped']) if last.get('stopped') else ''}\n"
        )
    w(
        f"\n**pass@1 (macro average over tasks): {_pm(overall)} %** (± one standard error over questions; "
        f"micro, over episodes: {pct(overall.get('micro_accuracy'))} %)"
    )
    if k > 1:
        w(f"; pass@{k} {pct(overall['pass_at_k'])} %, maj@{k} {pct(overall['maj_at_k'])} %")
    w("\n\n")
    w(
        f"Infrastructure errors (sandbox or agent transport failures, never scored): {errors['infra_events']} "
        f"failed attempt(s); episodes lost after every retry: {errors['lost_infra']}"
        f"{'; other errors (not scored): ' + str(errors['lost_other']) if errors['lost_other'] else ''}.\n"
    )
    if summary.get("missing_tasks"):
        w(f"\nTasks of the suite not available here (not registered): {', '.join(summary['missing_tasks'])}\n")
    if summary.get("unavailable_tasks"):
        w("\nTasks skipped because they cannot make questions here:\n\n")
        for name, error in summary["unavailable_tasks"].items():
            w(f"- {name}: {error}\n")

    w("\n## Code use, tokens and stops (health)\n\n")
    w(
        _table(
            [
                "episodes that ran code",
                "code calls / episode",
                "code error rate",
                "code timeout rate",
                "answered",
                "hit the call cap",
                "hit the token limit",
                "turns / episode",
                "prompt tokens / ep",
                "completion tokens / ep",
                "stop reasons (turns)",
                "seconds / episode",
            ],
            [
                [
                    f"{pct(health['code_use'])} %",
                    _num(health["calls_per_episode"]),
                    f"{pct(health['code_error_rate'])} %",
                    f"{pct(health['code_timeout_rate'])} %",
                    f"{pct(health['answered'])} %",
                    f"{pct(health['cap_hit'])} %",
                    f"{pct(health['token_limit_hit'])} %",
                    _num(health["turns_per_episode"]),
                    _num(health["prompt_tokens_per_episode"], 0),
                    _num(health["completion_tokens_per_episode"], 0),
                    _reasons(health["stop_reasons"]),
                    _num(health["seconds_per_episode"]),
                ]
            ],
        )
    )

    kk = [f"pass@{k} %", f"maj@{k} %"] if k > 1 else []
    w(
        "\n## Averages\n\nMacro averages over tasks, ± one standard error. The last four columns compare, over the "
        "tasks of the group that have one, this run with the published references (labelled *pub.*: "
        + REFERENCE_SOURCE
        + ").\n\n"
    )
    group_rows = []
    for row in [overall] + summary["groups"]:
        name = row["name"] if row["level"] == "all" else f"{row['level']}: {row['name']}"
        group_rows.append(
            [name, row["tasks"], row["questions"], row["episodes"], _pm(row)]
            + ([pct(row["pass_at_k"]), pct(row["maj_at_k"])] if k > 1 else [])
            + [
                pct(row["code_use"]),
                _num(row["calls_per_episode"]),
                _num(row["completion_tokens_per_episode"], 0),
                pct(row["token_limit_hit"]),
                row["tasks_with_ref"],
                pct(row["accuracy_on_ref_tasks"]),
                _num(row["ref_gpt4o_text"], 1) if row["tasks_with_ref"] else "",
                _num(row["ref_gpt4o_ci"], 1) if row["tasks_with_ref"] else "",
            ]
        )
    w(
        _table(
            ["group", "tasks", "questions", "episodes", "pass@1 %"]
            + kk
            + [
                "code use %",
                "calls / ep",
                "completion tokens / ep",
                "token limit %",
                "tasks with ref.",
                "this run on them %",
                "pub. GPT-4o text %",
                "pub. GPT-4o + CI %",
            ],
            group_rows,
        )
    )

    if manifest.get("suite") == "test":
        w(
            "\n## Published headline (R1-CI paper, not this project's results)\n\nAverage accuracy over the paper's "
            "own 37 test tasks. The paper's split is not public; this project's `test` suite is its own split of "
            "the same sources, so these numbers are context, not a like-for-like comparison.\n\n"
        )
        w(
            _table(
                ["model (published)", "avg. accuracy %"],
                [[label, f"{value:.1f}"] for label, value in PAPER_HEADLINE]
                + [[f"**this run** (`{manifest.get('agent')}`)", f"**{_pm(overall)}**"]],
            )
        )

    w(
        "\n## Per task\n\nn: questions x samples. pass@1 ± one standard error over questions (with n < 2 questions "
        "there is no error estimate: read such a row as an anecdote). *pub.* columns: published references ("
        + REFERENCE_SOURCE
        + "), not measured here.\n\n"
    )
    w(
        _table(
            ["task", "split", "source", "category", "n", "pass@1 %"]
            + kk
            + [
                "code use %",
                "calls / ep",
                "code err %",
                "timeout %",
                "completion tokens / ep",
                "token limit %",
                "stop reasons",
                "pub. GPT-4o text %",
                "pub. GPT-4o + CI %",
            ],
            [
                [row["task"], row["split"], row["source"], row["category"], f"{row['questions']}x{k}", _pm(row)]
                + ([pct(row["pass_at_k"]), pct(row["maj_at_k"])] if k > 1 else [])
                + [
                    pct(row["code_use"]),
                    _num(row["calls_per_episode"]),
                    pct(row["code_error_rate"]),
                    pct(row["code_timeout_rate"]),
                    _num(row["completion_tokens_per_episode"], 0),
                    pct(row["token_limit_hit"]),
                    _reasons(row["stop_reasons"]),
                    _ref(row["ref_gpt4o_text"]),
                    _ref(row["ref_gpt4o_ci"]),
                ]
                for row in summary["tasks"]
            ],
        )
    )
    if errors["lost"]:
        w("\n## Episodes not scored (see errors.jsonl)\n\n")
        w(
            _table(
                ["task", "seed", "sample", "kind", "error"],
                [
                    [
                        lost["task"],
                        lost["seed"],
                        lost["sample"],
                        lost["kind"],
                        str(lost["error"]).replace("|", "\\|").replace("\n", " ")[:160],
                    ]
                    for lost in errors["lost"][:200]
                ],
            )
        )
    return out.getvalue()


CSV_FIELDS = (
    "level",
    "name",
    "split",
    "source",
    "category",
    "tasks",
    "questions",
    "episodes",
    "accuracy",
    "stderr",
    "pass_at_k",
    "maj_at_k",
    "solved",
    "code_use",
    "calls_per_episode",
    "code_error_rate",
    "code_timeout_rate",
    "answered",
    "cap_hit",
    "token_limit_hit",
    "turns_per_episode",
    "prompt_tokens_per_episode",
    "completion_tokens_per_episode",
    "stop_reasons",
    "seconds_per_episode",
    "accuracy_on_ref_tasks",
    "ref_gpt4o_text",
    "ref_gpt4o_ci",
)


def render_csv(summary: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    rows = [
        {**row, "level": "task", "name": row["task"], "tasks": 1, "stop_reasons": json.dumps(row["stop_reasons"])}
        for row in summary["tasks"]
    ]
    for row in rows + [summary["overall"]] + summary["groups"]:
        writer.writerow({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()})
    return out.getvalue()


def plot_bars(summary: dict[str, Any]) -> tuple[list[str], list[float], list[float]]:
    """Per task: the bar's label (task and n = questions x samples), pass@1 in %, and the half-width of
    its 95 % interval in % (1.96 standard errors; 0 where there is no estimate)."""
    k = summary["samples_per_question"]
    rows = summary["tasks"]
    return (
        [f"{row['task']} (n={row['questions']}x{k})" for row in rows],
        [100 * (row["accuracy"] or 0.0) for row in rows],
        [196 * row["stderr"] if row["stderr"] is not None else 0.0 for row in rows],
    )


def render_plot(summary: dict[str, Any], manifest: dict[str, Any], path: Path) -> None:
    """A horizontal bar per task (pass@1 %, with a 95 % confidence interval and n in the label), with the
    published references as markers."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    rows = summary["tasks"]
    height = max(3.0, 0.28 * len(rows) + 1.6)
    fig, ax = plt.subplots(figsize=(9, height), dpi=100)
    try:
        if not rows:
            ax.text(0.5, 0.5, "no episodes scored", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        else:
            positions = list(range(len(rows)))[::-1]
            labels, accuracy, errors = plot_bars(summary)
            colors = {"train": "#4c72b0", "test": "#dd8452", "extra": "#8c8c8c"}
            ax.barh(
                positions,
                accuracy,
                color=[colors.get(row["split"], "#55a868") for row in rows],
                height=0.7,
                xerr=errors,
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#333333"},
            )
            for pos, value, error in zip(positions, accuracy, errors):
                ax.text(min(value + error + 1, 101), pos, f"{value:.0f}", va="center", fontsize=7)
            published = (
                ("ref_gpt4o_text", "D", 22, "black", "published: GPT-4o text only (CodeSteer)"),
                ("ref_gpt4o_ci", "x", 36, "#c44e52", "published: GPT-4o + Code Interpreter (CodeSteer)"),
            )
            for key, marker, size, color, label in published:
                refs = [(pos, row[key]) for pos, row in zip(positions, rows) if row[key] is not None]
                if refs:
                    ax.scatter(
                        [v for _, v in refs],
                        [p for p, _ in refs],
                        marker=marker,
                        s=size,
                        color=color,
                        zorder=3,
                        label=label,
                    )
            mean = summary["overall"]["accuracy"]
            if mean is not None:
                ax.axvline(
                    100 * mean, color="gray", linestyle="--", linewidth=1, label=f"this run, mean {100 * mean:.1f} %"
                )
            ax.set_yticks(positions)
            ax.set_yticklabels(labels, fontsize=8)
            ax.set_xlim(0, 108)
            ax.set_xlabel("pass@1 (%), error bars: 95 % confidence interval over questions")
            ax.grid(axis="x", alpha=0.3)
            from matplotlib.patches import Patch

            handles, _ = ax.get_legend_handles_labels()
            splits = list(dict.fromkeys(row["split"] for row in rows))
            handles = [
                Patch(color=colors.get(split, "#55a868"), label=f"this run: {split} task") for split in splits
            ] + handles
            ax.legend(
                handles=handles,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.6 / height - 0.04),
                ncol=2,
                fontsize=7,
                frameon=False,
            )
        episodes = summary["overall"]["episodes"]
        ax.set_title(
            f"r1ci bench: {manifest.get('agent', '?')} on {manifest.get('suite') or 'tasks'} "
            f"({episodes} episodes, prompt {manifest.get('prompt_style')})",
            fontsize=10,
        )
        fig.savefig(path, bbox_inches="tight")
    finally:
        plt.close(fig)


def write_reports(out: Path | str, *, plot: bool = True) -> dict[str, Any]:
    """Rebuild summary.md, summary.csv and (unless `plot=False`, the slow part) plot.png in `out` from
    its episodes and errors; returns the summary data."""
    out = Path(out)
    manifest = load_manifest(out) or {}
    summary = summarize(read_jsonl(out / EPISODES_FILE), read_jsonl(out / ERRORS_FILE), manifest)
    write_atomic(out / SUMMARY_MD, render_markdown(summary, manifest))
    write_atomic(out / SUMMARY_CSV, render_csv(summary))
    if plot:
        render_plot(summary, manifest, out / PLOT_FILE)
    return summary


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
