"""Game of 24 (SymBench): combine given numbers with + - * / into an expression that hits a target.

Generated puzzles are solvable by construction (a solver filters them); `source=<csv>` serves the
rows of a CodeSteer puzzle file such as `game24_dataset/24/24.csv`. The checker parses the answer
with `ast` (nothing is executed), checks that each given number is used exactly once, and evaluates
exactly with fractions.
"""
from __future__ import annotations

import csv
import functools
import inspect
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .base import Instance, Task, TaskConfig
from .common import evaluate_arithmetic, generated_id, parse_int, resolve_source, seeded_rng
from .registry import register_task

MAX_ATTEMPTS = 10_000  # random draws before giving up on a config whose target is (nearly) unreachable


@dataclass
class Game24Config(TaskConfig):
    """Generator knobs.

    count: how many numbers a puzzle gives (2-6).
    target: the value the expression must reach.
    min_number, max_number: the range the numbers are drawn from (uniformly, with repetition).
    source: a CodeSteer puzzle CSV (column `Puzzles`, numbers separated by spaces), absolute or
        relative to the data directory. When set, `count` and the range are ignored; `target` must
        be the file's target (24 for `24/*.csv`, 240 for `240/*.csv`, ...).
    """

    count: int = 4
    target: int = 24
    min_number: int = 1
    max_number: int = 13
    source: str | None = None


class Game24(Task):
    name = "Game24"
    source = "symbench"
    category = "planning"
    checker = "CK"
    config_class = Game24Config
    config: Game24Config

    def validate_config(self) -> None:
        """Check the ranges and, with `source=`, read the puzzle file."""
        c = self.config
        if not 2 <= c.count <= 6:
            raise ValueError("Game24 needs 2 <= count <= 6")
        if not 0 <= c.min_number <= c.max_number:
            raise ValueError("Game24 needs 0 <= min_number <= max_number")
        self.puzzle_file = resolve_source(c.source) if c.source else None
        self.puzzles = _read_puzzles(self.puzzle_file) if self.puzzle_file else None

    def generate(self, seed: int) -> Instance:
        c = self.config
        if self.puzzles:
            row = seed % len(self.puzzles)
            numbers, instance_id = self.puzzles[row], f"{self.puzzle_file.name}#row{row}"
        else:
            numbers, instance_id = self._random_numbers(seed), generated_id(seed)
        return Instance(
            question=_question(numbers, c.target),
            gold={"numbers": numbers, "target": c.target},
            instance_id=instance_id,
            metadata={"count": len(numbers)},
        )

    def _random_numbers(self, seed: int) -> list[int]:
        c = self.config
        rng = seeded_rng(seed, self.name)
        for _ in range(MAX_ATTEMPTS):
            numbers = sorted(rng.randint(c.min_number, c.max_number) for _ in range(c.count))
            if _solvable(tuple(numbers), c.target):
                return numbers
        raise RuntimeError(f"Game24: no solvable puzzle found for {c}; widen the number range or change the target")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if is_solution(answer, instance.gold["numbers"], instance.gold["target"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        numbers, target = instance.gold["numbers"], instance.gold["target"]
        return (
            "# Depth-first search: repeatedly replace two numbers by the result of an operation on them.\n"
            + inspect.getsource(find_expression)
            + f"\n\nprint(find_expression({numbers!r}, {target!r}), '=', {target!r})\n"
        )

    def num_questions(self) -> int | None:
        return len(self.puzzles) if self.puzzles else None


def _read_puzzles(path: Path) -> list[list[int]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "Puzzles" not in rows[0]:
        raise ValueError(f"Game24: {path} has no rows with a 'Puzzles' column")
    return [[int(n) for n in row["Puzzles"].split()] for row in rows]


def _question(numbers: list[int], target: int) -> str:
    return (
        f"Numbers: {', '.join(map(str, numbers))}\n\n"
        f"Write an arithmetic expression whose value is exactly {target}. Use every number above exactly "
        "once (no other numbers), combined with +, -, * and / and any parentheses you like. Division "
        "is exact, so fractions may appear along the way.\n\n"
        f"Give the final answer inside <<< and >>> as the expression followed by '= {target}', "
        "for example <<<(1+2+3)*4 = 24>>> for the numbers 1, 2, 3, 4 and the target 24."
    )


def is_solution(answer: str, numbers: list[int], target: int) -> bool:
    """True iff `answer` ("expr" or "expr = target") uses exactly `numbers` and equals `target`."""
    expression, *rest = answer.split("=")
    if len(rest) > 1 or (rest and parse_int(rest[0]) != target):
        return False
    try:
        value, used = evaluate_arithmetic(expression)
    except ValueError:
        return False
    return value == target and Counter(used) == Counter(numbers)


def find_expression(numbers, target):
    """An expression over `numbers` (each used once) equal to `target`, or None. Searches by
    replacing two numbers with the result of an operation on them, remembering dead-end number sets.
    Values stay exact: ints, or Fractions after a division that does not come out even."""
    from fractions import Fraction
    from itertools import combinations

    dead = set()

    def divide(a, b):
        if type(a) is int and type(b) is int and a % b == 0:
            return a // b
        q = Fraction(a) / b
        return q.numerator if q.denominator == 1 else q

    def search(values, exprs):
        if len(values) == 1:
            return exprs[0] if values[0] == target else None
        key = tuple(sorted(values))
        if key in dead:
            return None
        for i, j in combinations(range(len(values)), 2):
            a, b, x, y = values[i], values[j], exprs[i], exprs[j]
            rest_values = [v for k, v in enumerate(values) if k != i and k != j]
            rest_exprs = [e for k, e in enumerate(exprs) if k != i and k != j]
            options = [(a + b, (x, "+", y)), (a * b, (x, "*", y)), (a - b, (x, "-", y)), (b - a, (y, "-", x))]
            if b:
                options.append((divide(a, b), (x, "/", y)))
            if a:
                options.append((divide(b, a), (y, "/", x)))
            for value, expr in options:
                found = search(rest_values + [value], rest_exprs + [expr])
                if found is not None:
                    return found
        dead.add(key)
        return None

    def text(expr, outer=True):
        if not isinstance(expr, tuple):
            return str(expr)
        inner = f"{text(expr[0], False)}{expr[1]}{text(expr[2], False)}"
        return inner if outer else f"({inner})"

    found = search(list(numbers), list(numbers))
    return None if found is None else text(found)


@functools.lru_cache(maxsize=None)
def _solvable(numbers: tuple[int, ...], target: int) -> bool:
    return find_expression(list(numbers), target) is not None


register_task(Game24)
