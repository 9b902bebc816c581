"""What a benchmark run leaves behind, besides its transcripts: `summary.md`, `summary.csv`, `plot.png`
and `manifest.json`, all rebuilt from `episodes.jsonl` and `errors.jsonl` (so a resumed run reports
every episode it holds).

Accuracy is the mean reward (1.0 for a correct final answer; a few checkers give partial credit).
Averages over a split, source or category are macro averages: every task weighs the same, as in the
papers. Published references (CodeSteer's GPT-4o numbers, and the R1-CI paper's test-suite headline)
are shown beside the measured numbers and labelled as such: they were measured on other samples, and
the paper's train/test split is not this project's.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

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
    "Game24": (17, 18), "PathPlan": (65, 54), "BoxLift": (69, 49), "BoxNet": (37, 37), "BlocksWorld": (43, 42),
    "bbh.date_understanding": (90, 76), "bbh.web_of_lies": (96, 94), "bbh.logical_deduction_seven_objects": (89, 82),
    "bbh.navigate": (98, 98), "GSMHard": (78, 79), "MathGeometry": (76, 73), "MathCountingProbability": (89, 89),
    "LogicalEquation": (52, 71), "NewOperator": (42, 48), "Pooling": (54, 49), "NumberMultiply": (11, 75),
    "StringSplitting": (28, 43), "SynthesisDecomposition": (52, 72), "PermutationsCombinations": (66, 75),
    "LightPuzzles": (62, 95), "Mahjong": (66, 64), "StatisticalCounting": (34, 89), "MatrixTransformation": (94, 90),
    "LogicalPuzzle": (48, 68), "ConstrainedLinearArrangement": (82, 72), "PatternRecognition": (70, 100),
    "StringInsertion": (6, 89), "LetterLogicDiagram": (2, 8), "StringDeletionModification": (4, 49),
    "StringSynthesis": (0, 12), "Reversi": (8, 23), "StandardSudoku": (0, 100), "Letters": (12, 89),
    "EightQueens": (8, 44), "Cryptanalysis": (20, 0), "CombinatorialCalculation": (16, 57), "Game2048": (44, 49),
}
# The R1-CI paper (arXiv 2505.21668): average accuracy over ITS 37 test tasks.
PAPER_HEADLINE: tuple[tuple[str, float], ...] = (
    ("Qwen2.5-14B (base)", 44.0), ("GPT-4o, text only", 58.6), ("GPT-4o + Code Interpreter", 70.9),
    ("R1-CI-14B (first version)", 64.1), ("R1-CI-14B (later version, curriculum)", 72.4),
)
PACKAGES = ("r1ci", "gymnasium", "numpy", "tqdm", "docker", "reasoning-gym", "sympy", "torch", "transformers",
            "peft", "vllm", "matplotlib")


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


def episode_key(record: dict[str, Any]) -> tuple[str, int]:
    return str(record["task"]), int(record["seed"])


def unique_episodes(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (task, seed): the first one written."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}
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
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
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


def task_stats(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy and the health numbers of code use over some episodes."""
    n = len(episodes)
    calls = sum(int(e.get("code_calls", 0)) for e in episodes)
    errors = sum(int(e.get("exec_errors", 0)) for e in episodes)
    timeouts = sum(int(e.get("exec_timeouts", 0)) for e in episodes)
    return {
        "episodes": n,
        "accuracy": _mean([float(e["reward"]) for e in episodes]),
        "solved": sum(float(e["reward"]) >= 1.0 for e in episodes),
        "code_use": _mean([1.0 if int(e.get("code_calls", 0)) > 0 else 0.0 for e in episodes]),
        "calls_per_episode": calls / n if n else None,
        "code_calls": calls,
        "code_error_rate": errors / calls if calls else None,
        "code_timeout_rate": timeouts / calls if calls else None,
        "answered": _mean([1.0 if e.get("answer") is not None else 0.0 for e in episodes]),
        "cap_hit": _mean([1.0 if e.get("truncated") else 0.0 for e in episodes]),
        "turns_per_episode": _mean([float(e.get("turns", 0)) for e in episodes]),
        "seconds_per_episode": _mean([float(e.get("seconds", 0.0)) for e in episodes]),
    }


def summarize(episodes: list[dict[str, Any]], errors: list[dict[str, Any]],
              manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the summary files show, as plain data."""
    manifest = manifest or {}
    episodes = unique_episodes(episodes)
    done = {episode_key(e) for e in episodes}
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for episode in episodes:
        by_task[episode["task"]].append(episode)
    order = [t for t in manifest.get("tasks", []) if t in by_task] + sorted(t for t in by_task
                                                                              if t not in manifest.get("tasks", []))
    tasks = []
    for name in order:
        first = by_task[name][0]
        row = {"task": name, "split": first.get("split"), "source": first.get("source"),
               "category": first.get("category"), **task_stats(by_task[name])}
        ref = REFERENCES.get(name)
        row["ref_gpt4o_text"], row["ref_gpt4o_ci"] = ref if ref else (None, None)
        tasks.append(row)
    groups = []
    for level in ("split", "source", "category"):
        for value in sorted({row[level] for row in tasks if row[level] is not None}):
            groups.append(_group_row(level, value, [row for row in tasks if row[level] == value]))
    overall = {**_group_row("all", "all tasks", tasks), **{
        "micro_accuracy": task_stats(episodes)["accuracy"]}}
    lost = {}
    for error in errors:
        key = (str(error.get("task")), int(error.get("seed", -1)))
        if error.get("final") and key not in done:
            lost[key] = error
    infra_events = [e for e in errors if e.get("kind") == "infra"]
    return {
        "tasks": tasks,
        "groups": groups,
        "overall": overall,
        "health": {k: v for k, v in task_stats(episodes).items() if k not in ("accuracy", "solved")},
        "errors": {
            "infra_events": len(infra_events),
            "infra_retried_then_completed": len({(e.get("task"), e.get("seed")) for e in infra_events}
                                                & {(t, s) for t, s in done}),
            "lost_infra": sum(1 for e in lost.values() if e.get("kind") == "infra"),
            "lost_other": sum(1 for e in lost.values() if e.get("kind") != "infra"),
            "lost": [{"task": k[0], "seed": k[1], "kind": e.get("kind"), "error": e.get("error")}
                     for k, e in sorted(lost.items())],
        },
        "missing_tasks": manifest.get("missing_tasks", []),
        "unavailable_tasks": manifest.get("unavailable_tasks", {}),
    }


def _group_row(level: str, value: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    with_ref = [row for row in rows if row["ref_gpt4o_text"] is not None]
    return {
        "level": level, "name": value, "tasks": len(rows), "episodes": sum(row["episodes"] for row in rows),
        "accuracy": _mean([row["accuracy"] for row in rows]),
        "code_use": _mean([row["code_use"] for row in rows]),
        "calls_per_episode": _mean([row["calls_per_episode"] for row in rows]),
        "tasks_with_ref": len(with_ref),
        "accuracy_on_ref_tasks": _mean([row["accuracy"] for row in with_ref]),
        "ref_gpt4o_text": _mean([row["ref_gpt4o_text"] for row in with_ref]),
        "ref_gpt4o_ci": _mean([row["ref_gpt4o_ci"] for row in with_ref]),
    }


# ------------------------------------------------------------------------------------------ output

def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ref(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def render_markdown(summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    out = io.StringIO()
    w = out.write
    overall, health, errors = summary["overall"], summary["health"], summary["errors"]
    w(f"# r1ci benchmark: `{manifest.get('agent', '?')}`\n\n")
    runs = manifest.get("runs", [])
    w(f"- tasks: {overall['tasks']} ({manifest.get('suite') or 'task list'}), episodes scored: "
      f"{overall['episodes']}, seeds {manifest.get('seed', 0)}..{manifest.get('seed', 0) + manifest.get('n', 1) - 1} "
      f"per task\n")
    w(f"- prompt style: `{manifest.get('prompt_style')}` (sha256 {str(manifest.get('prompt_sha256'))[:12]}), "
      f"max code calls {manifest.get('max_code_calls')}, code timeout {manifest.get('code_timeout')} s, "
      f"sandbox {manifest.get('sandbox', {}).get('backend')}\n")
    if runs:
        last = runs[-1]
        w(f"- runs: {len(runs)}; last: {last.get('episodes_run', 0)} episodes in {_num(last.get('seconds'), 1)} s "
          f"({_num(last.get('episodes_per_second'), 2)} episodes/s) at concurrency {last.get('concurrency')}\n")
    w(f"\n**Accuracy (macro average over tasks): {_pct(overall['accuracy'])} %** "
      f"(micro, over episodes: {_pct(overall.get('micro_accuracy'))} %)\n\n")
    w(f"Infrastructure errors (sandbox or agent transport failures, never scored): {errors['infra_events']} "
      f"failed attempt(s); episodes lost after every retry: {errors['lost_infra']}"
      f"{'; other errors (not scored): ' + str(errors['lost_other']) if errors['lost_other'] else ''}.\n")
    if summary.get("missing_tasks"):
        w(f"\nTasks of the suite not available here (not registered): {', '.join(summary['missing_tasks'])}\n")
    if summary.get("unavailable_tasks"):
        w("\nTasks skipped because they cannot make questions here:\n\n")
        for name, error in summary["unavailable_tasks"].items():
            w(f"- {name}: {error}\n")

    w("\n## Code use (health)\n\n| episodes that ran code | code calls / episode | code error rate | "
      "code timeout rate | answered | hit the call cap | turns / episode | seconds / episode |\n"
      "|---|---|---|---|---|---|---|---|\n")
    w(f"| {_pct(health['code_use'])} % | {_num(health['calls_per_episode'])} | {_pct(health['code_error_rate'])} % | "
      f"{_pct(health['code_timeout_rate'])} % | {_pct(health['answered'])} % | {_pct(health['cap_hit'])} % | "
      f"{_num(health['turns_per_episode'])} | {_num(health['seconds_per_episode'])} |\n")

    w("\n## Averages\n\nMacro averages over tasks. The last four columns compare, over the tasks of the group "
      "that have one, this run with the published references (labelled *pub.*: " + REFERENCE_SOURCE + ").\n\n"
      "| group | tasks | episodes | accuracy % | code use % | calls / ep | tasks with ref. | this run on them % | "
      "pub. GPT-4o text % | pub. GPT-4o + CI % |\n|---|---|---|---|---|---|---|---|---|---|\n")
    for row in [overall] + summary["groups"]:
        name = row["name"] if row["level"] == "all" else f"{row['level']}: {row['name']}"
        w(f"| {name} | {row['tasks']} | {row['episodes']} | {_pct(row['accuracy'])} | {_pct(row['code_use'])} | "
          f"{_num(row['calls_per_episode'])} | {row['tasks_with_ref']} | {_pct(row['accuracy_on_ref_tasks'])} | "
          f"{_num(row['ref_gpt4o_text'], 1) if row['tasks_with_ref'] else ''} | "
          f"{_num(row['ref_gpt4o_ci'], 1) if row['tasks_with_ref'] else ''} |\n")

    if manifest.get("suite") == "test":
        w("\n## Published headline (R1-CI paper, not this project's results)\n\nAverage accuracy over the paper's "
          "own 37 test tasks. The paper's split is not public; this project's `test` suite is its own split of "
          "the same sources, so these numbers are context, not a like-for-like comparison.\n\n"
          "| model (published) | avg. accuracy % |\n|---|---|\n")
        for label, value in PAPER_HEADLINE:
            w(f"| {label} | {value:.1f} |\n")
        w(f"| **this run** (`{manifest.get('agent')}`) | **{_pct(overall['accuracy'])}** |\n")

    w("\n## Per task\n\n*pub.* columns: published references (" + REFERENCE_SOURCE + "), not measured here.\n\n"
      "| task | split | source | category | n | accuracy % | code use % | calls / ep | code err % | "
      "timeout % | pub. GPT-4o text % | pub. GPT-4o + CI % |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    for row in summary["tasks"]:
        w(f"| {row['task']} | {row['split']} | {row['source']} | {row['category']} | {row['episodes']} | "
          f"{_pct(row['accuracy'])} | {_pct(row['code_use'])} | {_num(row['calls_per_episode'])} | "
          f"{_pct(row['code_error_rate'])} | {_pct(row['code_timeout_rate'])} | {_ref(row['ref_gpt4o_text'])} | "
          f"{_ref(row['ref_gpt4o_ci'])} |\n")
    if errors["lost"]:
        w("\n## Episodes not scored (see errors.jsonl)\n\n| task | seed | kind | error |\n|---|---|---|---|\n")
        for lost in errors["lost"][:200]:
            text = str(lost["error"]).replace("|", "\\|").replace("\n", " ")[:160]
            w(f"| {lost['task']} | {lost['seed']} | {lost['kind']} | {text} |\n")
    return out.getvalue()


CSV_FIELDS = ("level", "name", "split", "source", "category", "tasks", "episodes", "accuracy", "solved", "code_use",
              "calls_per_episode", "code_error_rate", "code_timeout_rate", "answered", "cap_hit",
              "turns_per_episode", "seconds_per_episode", "accuracy_on_ref_tasks", "ref_gpt4o_text", "ref_gpt4o_ci")


def render_csv(summary: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    rows = [{**row, "level": "task", "name": row["task"], "tasks": 1} for row in summary["tasks"]]
    for row in rows + [summary["overall"]] + summary["groups"]:
        writer.writerow({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()})
    return out.getvalue()


def render_plot(summary: dict[str, Any], manifest: dict[str, Any], path: Path) -> None:
    """A horizontal bar per task (accuracy %), with the published references as markers."""
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
            accuracy = [100 * (row["accuracy"] or 0.0) for row in rows]
            colors = {"train": "#4c72b0", "test": "#dd8452", "extra": "#8c8c8c"}
            ax.barh(positions, accuracy, color=[colors.get(row["split"], "#55a868") for row in rows], height=0.7)
            for pos, value in zip(positions, accuracy):
                ax.text(min(value + 1, 101), pos, f"{value:.0f}", va="center", fontsize=7)
            text_refs = [(pos, row["ref_gpt4o_text"]) for pos, row in zip(positions, rows) if row["ref_gpt4o_text"] is not None]
            ci_refs = [(pos, row["ref_gpt4o_ci"]) for pos, row in zip(positions, rows) if row["ref_gpt4o_ci"] is not None]
            if text_refs:
                ax.scatter([v for _, v in text_refs], [p for p, _ in text_refs], marker="D", s=22, color="black",
                           zorder=3, label="published: GPT-4o text only (CodeSteer)")
            if ci_refs:
                ax.scatter([v for _, v in ci_refs], [p for p, _ in ci_refs], marker="x", s=36, color="#c44e52",
                           zorder=3, label="published: GPT-4o + Code Interpreter (CodeSteer)")
            mean = summary["overall"]["accuracy"]
            if mean is not None:
                ax.axvline(100 * mean, color="gray", linestyle="--", linewidth=1, label=f"this run, mean {100 * mean:.1f} %")
            ax.set_yticks(positions)
            ax.set_yticklabels([row["task"] for row in rows], fontsize=8)
            ax.set_xlim(0, 108)
            ax.set_xlabel("accuracy (%)")
            ax.grid(axis="x", alpha=0.3)
            from matplotlib.patches import Patch

            handles, _ = ax.get_legend_handles_labels()
            splits = list(dict.fromkeys(row["split"] for row in rows))
            handles = [Patch(color=colors.get(split, "#55a868"), label=f"this run: {split} task") for split in splits] + handles
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.6 / height - 0.04), ncol=2,
                      fontsize=7, frameon=False)
        episodes = summary["overall"]["episodes"]
        ax.set_title(f"r1ci bench: {manifest.get('agent', '?')} on {manifest.get('suite') or 'tasks'} "
                     f"({episodes} episodes, prompt {manifest.get('prompt_style')})", fontsize=10)
        fig.savefig(path, bbox_inches="tight")
    finally:
        plt.close(fig)


def write_reports(out: Path | str) -> dict[str, Any]:
    """Rebuild summary.md, summary.csv and plot.png in `out` from its episodes and errors; returns the
    summary data."""
    out = Path(out)
    manifest = load_manifest(out) or {}
    summary = summarize(read_jsonl(out / EPISODES_FILE), read_jsonl(out / ERRORS_FILE), manifest)
    write_atomic(out / SUMMARY_MD, render_markdown(summary, manifest))
    write_atomic(out / SUMMARY_CSV, render_csv(summary))
    render_plot(summary, manifest, out / PLOT_FILE)
    return summary


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
