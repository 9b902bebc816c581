"""Pooling (SymBench): max or average pooling of a square integer matrix with stride 1.

A k*k window slides over an N*N matrix one cell at a time; the answer is the (N-k+1)*(N-k+1)
matrix of window maxima or averages, flattened row by row.

Fix of a CodeSteer defect: its checker (`validate_solution_pooling`) converts every answer cell
with `int()`, so no answer to an average-pooling question whose averages are not whole numbers can
ever pass. Here each cell must be the exact value (an integer or a fraction such as 41/9) or a
decimal within 0.005 of it (rounded to 2 or more decimal places); nothing else is accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from random import Random

from .base import Instance
from .common import number_matches, split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

POOLING_TYPES = ("max", "average")
DECIMAL_PLACES = 2


@dataclass
class PoolingConfig(SymBenchConfig):
    """Generator knobs. The defaults cover CodeSteer's sets (N = 3-6, window 2-3, both types,
    values -10..20).

    min_size, max_size: the matrix side N (at least 2).
    min_window, max_window: the window side k (at least 1); each instance draws k from the range
        capped at N-1, so the window is always smaller than the matrix.
    pooling_types: the kinds drawn from: "max" and/or "average".
    min_value, max_value: the range of the matrix entries (integers).
    instances: official instances (`<dir>/sample_<i>/solution.json` with `matrix`, `window_size` and
        `pooling_type`, e.g. `symbench/pooling_dataset`).
    """

    min_size: int = 3
    max_size: int = 6
    min_window: int = 2
    max_window: int = 3
    pooling_types: tuple[str, ...] = POOLING_TYPES
    min_value: int = -10
    max_value: int = 20


class Pooling(SymBenchTask):
    name = "Pooling"
    category = "execution"
    checker = "EM"
    config_class = PoolingConfig
    config: PoolingConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("size", low=2)
        self.check_range("window", low=1)
        if c.min_window >= c.max_size:
            raise ValueError("Pooling needs min_window < max_size (the window must be smaller than the matrix)")
        if not c.pooling_types or not set(c.pooling_types) <= set(POOLING_TYPES):
            raise ValueError(f"Pooling pooling_types must be a non-empty subset of {POOLING_TYPES}")
        if c.min_value > c.max_value:
            raise ValueError("Pooling needs min_value <= max_value")

    def sample(self, rng: Random) -> tuple[list[list[int]], int, str]:
        c = self.config
        size = rng.randint(max(c.min_size, c.min_window + 1), c.max_size)
        window = rng.randint(c.min_window, min(c.max_window, size - 1))
        kind = rng.choice(c.pooling_types)
        return [[rng.randint(c.min_value, c.max_value) for _ in range(size)] for _ in range(size)], window, kind

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[list[int]], int, str]:
        data = json.loads(path.read_text())
        matrix, window, kind = data["matrix"], data["window_size"], data["pooling_type"]
        square = all(len(row) == len(matrix) for row in matrix)
        if kind not in POOLING_TYPES or not 1 <= window < len(matrix) or not square:
            raise ValueError(f"{path}: expected a square matrix, 1 <= window_size < N, pooling_type in {POOLING_TYPES}")
        return matrix, window, kind

    def build(self, problem: tuple[list[list[int]], int, str], instance_id: str) -> Instance:
        matrix, window, kind = problem
        result = pool(matrix, window, kind)
        return Instance(
            question=_question(matrix, window, kind),
            gold=[str(value) for row in result for value in row],
            instance_id=instance_id,
            metadata={"matrix": matrix, "window": window, "pooling_type": kind, "size": len(matrix)},
        )

    def score(self, answer: str, instance: Instance) -> float:
        cells = split_cells(answer)
        gold = instance.gold
        if len(cells) != len(gold):
            return 0.0
        ok = all(number_matches(cell, Fraction(value), DECIMAL_PLACES) for cell, value in zip(cells, gold))
        return 1.0 if ok else 0.0

    def reference_solution(self, instance: Instance) -> str:
        m = instance.metadata
        return solver_program(
            pool,
            comment="Slide the window over every position and take the maximum or the exact average.",
            main=f"matrix = {m['matrix']!r}\nresult = pool(matrix, {m['window']!r}, {m['pooling_type']!r})\n"
            "print(','.join(str(value) for row in result for value in row))\n",
        )


def pool(matrix, window, kind):
    """Stride-1 pooling of a square matrix with a window*window window; kind is "max" or
    "average". Averages are exact Fractions (integers when they come out whole)."""
    from fractions import Fraction

    n = len(matrix) - window + 1
    result = []
    for i in range(n):
        row = []
        for j in range(n):
            cells = [matrix[i + di][j + dj] for di in range(window) for dj in range(window)]
            if kind == "max":
                row.append(max(cells))
            else:
                mean = Fraction(sum(cells), len(cells))
                row.append(mean.numerator if mean.denominator == 1 else mean)
        result.append(row)
    return result


def _question(matrix: list[list[int]], window: int, kind: str) -> str:
    size, out = len(matrix), len(matrix) - window + 1
    rows = "\n".join(", ".join(map(str, row)) for row in matrix)
    what = "the largest number" if kind == "max" else "the average (arithmetic mean) of the numbers"
    example = ",".join(str(v) for v in range(1, out * out + 1))
    answer_rule = (
        "Write each maximum as an integer."
        if kind == "max"
        else "Write each average exactly (an integer, or a fraction such as 41/9) or as a decimal "
        "rounded to at least 2 decimal places (such as 4.56)."
    )
    return (
        f"Here is a {size}x{size} matrix of integers, one row per line with entries separated by commas:\n"
        f"{rows}\n\n"
        f"Apply {kind} pooling with a {window}x{window} window and stride 1: place the window over "
        f"every {window}x{window} block of adjacent cells (moving it one column right or one row down "
        f"at a time, never past the edge), and for each placement take {what} it covers. Keeping the "
        f"placements in their positions gives a {out}x{out} result matrix.\n\n"
        f"Give the result matrix flattened row by row as {out * out} comma-separated values inside "
        f"<<< and >>>, for example <<<{example}>>>. {answer_rule}"
    )


register_task(Pooling)
