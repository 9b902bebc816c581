"""`r1ci export verl`: verl's parquet train/test files. Each row names one r1ci episode (task, instance seed,
knobs) and carries the prompt the env gives for it, so verl's dataset, prompt-length filter and agent loop
see the real prompt; `agent_name: r1ci` routes the row to `R1CIAgentLoop` (`r1ci_env.integrations.verl`).

The curriculum is in the data, because verl 0.9 has no curriculum sampler: train rows are drawn per task
with r1ci's improvement-potential weight 4p(1-p) + 0.05 (p = the task's measured accuracy; 0.5, i.e. uniform,
when none is given), so a shuffled epoch still sees each task in proportion to its weight. The weight and p
are kept in `extra_info` for a weighted sampler. Test rows are uniform over the test suite, on instance
seeds disjoint from the train rows'.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..suites import suite as suite_tasks
from .episode import EnvSettings

AGENT_NAME = "r1ci"
FLOOR = 0.05  # the same floor as train_grpo.py's potential curriculum: no task's weight reaches 0
TEST_SEED_BASE = 10**9  # train seeds are drawn below it, test seeds start at it


def potential_weight(p: float) -> float:
    """Improvement potential of a task solved with probability p: 4p(1-p) (highest at 0.5) plus the floor."""
    return 4 * p * (1 - p) + FLOOR


def read_accuracy(path: str | Path) -> dict[str, float]:
    """Per-task accuracy from a JSON object {task: p} or an `r1ci bench` summary.csv (its task rows)."""
    path = Path(path)
    if path.suffix == ".csv":
        with path.open(newline="") as handle:
            return {row["name"]: float(row["accuracy"]) for row in csv.DictReader(handle) if row["level"] == "task"}
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object of task -> accuracy in [0, 1]")
    return {str(k): float(v) for k, v in data.items()}


def build_rows(tasks: Sequence[str], n: int, seed: int, split: str, settings: EnvSettings,
               accuracy: dict[str, float] | None = None, seed_base: int = 0) -> list[dict[str, Any]]:
    """`n` rows: tasks drawn with the potential weights (uniform without `accuracy`), one instance seed each
    (train: drawn below TEST_SEED_BASE; test: `seed_base + i`), prompt from the env itself."""
    if not tasks:
        raise ValueError("no tasks to export")
    rng = random.Random(seed)
    p = {task: (accuracy or {}).get(task, 0.5) for task in tasks}
    weights = [potential_weight(p[task]) for task in tasks]
    envs = {task: settings.make(task) for task in tasks}
    rows = []
    for index, task in enumerate(rng.choices(list(tasks), weights=weights, k=n)):
        instance_seed = seed_base + index if seed_base else rng.randrange(TEST_SEED_BASE)
        prompt, _ = envs[task].reset(seed=instance_seed)
        rows.append({
            "data_source": f"r1ci/{task}",
            "agent_name": AGENT_NAME,
            "prompt": [{"role": "user", "content": prompt}],
            "ability": "code_interpreter",
            "reward_model": {"style": "r1ci_env", "ground_truth": ""},  # the agent loop sets reward_score
            "extra_info": {"task": task, "seed": instance_seed, "knobs": "{}", "index": index, "split": split,
                           "p": p[task], "weight": potential_weight(p[task])},
        })
    return rows


def write_parquet(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as one parquet file (the layout verl's RLHFDataset reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def command(args: argparse.Namespace) -> int:
    """`r1ci export verl`: write train.parquet (and test.parquet) under --out."""
    # Only prompts are rendered (no code runs, so no sandbox starts); they depend on style, cap and state rule.
    settings = EnvSettings(max_code_calls=args.max_code_calls, prompt=args.prompt, stateful=args.stateful)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else suite_tasks(args.suite)
    accuracy = read_accuracy(args.accuracy) if args.accuracy else None
    out = Path(args.out)
    train = write_parquet(build_rows(tasks, args.n, args.seed, "train", settings, accuracy), out / "train.parquet")
    print(f"[r1ci] {train}: {args.n} rows over {len(tasks)} tasks"
          f"{' (potential curriculum)' if accuracy else ' (uniform; pass --accuracy for the curriculum)'}")
    if args.test_n > 0:
        test_tasks = suite_tasks(args.test_suite)
        test = write_parquet(build_rows(test_tasks, args.test_n, args.seed + 1, "test", settings,
                                        seed_base=TEST_SEED_BASE), out / "test.parquet")
        print(f"[r1ci] {test}: {args.test_n} rows over {len(test_tasks)} tasks")
    return 0
