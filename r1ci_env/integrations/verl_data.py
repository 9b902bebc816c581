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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..suites import suite as suite_tasks
from .draw import TEST_SEED_BASE, draw_episodes, potential_weight, read_accuracy
from .episode import EnvSettings

AGENT_NAME = "r1ci"


def build_rows(
    tasks: Sequence[str],
    n: int,
    seed: int,
    split: str,
    settings: EnvSettings,
    accuracy: dict[str, float] | None = None,
    seed_base: int = 0,
) -> list[dict[str, Any]]:
    """`n` verl rows drawn by `draw_episodes` (see there for the weights and seeds)."""
    rows = []
    for index, episode in enumerate(draw_episodes(tasks, n, seed, settings, accuracy, seed_base)):
        rows.append(
            {
                "data_source": f"r1ci/{episode.task}",
                "agent_name": AGENT_NAME,
                "prompt": [{"role": "user", "content": episode.prompt}],
                "ability": "code_interpreter",
                "reward_model": {"style": "r1ci_env", "ground_truth": ""},  # the agent loop sets reward_score
                "extra_info": {
                    "task": episode.task,
                    "seed": episode.seed,
                    "knobs": "{}",
                    "index": index,
                    "split": split,
                    "p": episode.p,
                    "weight": potential_weight(episode.p),
                },
            }
        )
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
    print(
        f"[r1ci] {train}: {args.n} rows over {len(tasks)} tasks"
        f"{' (potential curriculum)' if accuracy else ' (uniform; pass --accuracy for the curriculum)'}"
    )
    if args.test_n > 0:
        test_tasks = suite_tasks(args.test_suite)
        test = write_parquet(
            build_rows(test_tasks, args.test_n, args.seed + 1, "test", settings, seed_base=TEST_SEED_BASE),
            out / "test.parquet",
        )
        print(f"[r1ci] {test}: {args.test_n} rows over {len(test_tasks)} tasks")
    return 0
