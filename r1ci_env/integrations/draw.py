"""Which episodes a trainer's data holds: tasks drawn with r1ci's improvement-potential weights and one
instance seed each, with the env's own prompt (shared by `r1ci export verl` and the TRL dataset builder)."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .episode import EnvSettings

FLOOR = 0.05  # the same floor as train_grpo.py's potential curriculum: no task's weight reaches 0
TEST_SEED_BASE = 10**9  # drawn train seeds stay below it; test seeds start at it


@dataclass(frozen=True)
class DrawnEpisode:
    """One drawn episode: the task, the instance seed, the env's prompt for it, and the task's accuracy p."""

    task: str
    seed: int
    prompt: str
    p: float


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


def draw_episodes(
    tasks: Sequence[str],
    n: int,
    seed: int,
    settings: EnvSettings,
    accuracy: dict[str, float] | None = None,
    seed_base: int = 0,
) -> list[DrawnEpisode]:
    """`n` episodes: tasks drawn with the potential weights (uniform without `accuracy`), one instance seed
    each (drawn below TEST_SEED_BASE, or `seed_base + i` when given), the prompt from the env itself."""
    if not tasks:
        raise ValueError("no tasks to draw episodes from")
    rng = random.Random(seed)
    p = {task: (accuracy or {}).get(task, 0.5) for task in tasks}
    weights = [potential_weight(p[task]) for task in tasks]
    envs = {task: settings.make(task) for task in tasks}
    drawn = []
    for index, task in enumerate(rng.choices(list(tasks), weights=weights, k=n)):
        instance_seed = seed_base + index if seed_base else rng.randrange(TEST_SEED_BASE)
        drawn.append(DrawnEpisode(task, instance_seed, envs[task].reset(seed=instance_seed)[0], p[task]))
    return drawn
