"""Game of 24 (SymBench): combine given numbers with + - * / into an expression that hits a target.

Generated puzzles are solvable by construction (a solver filters them); `instances=<csv>` serves the
rows of a CodeSteer puzzle file such as `game24_dataset/24/24.csv`. The checker parses the answer
with `ast` (nothing is executed), checks that each given number is used exactly once, and evaluates
exactly with fractions.
"""

from __future__ import annotations

import csv
import functools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import evaluate_arithmetic, parse_int, resolve_instances
from .registry import register_task
from .symbench import InstanceList, SymBenchConfig, SymBenchTask, solver_program

MAX_ATTEMPTS = 10_000  # random draws before giving up on a config whose target is (nearly) unreachable


@dataclass
class Game24Config(SymBenchConfig):
    """Generator knobs.

    count: how many numbers a puzzle gives (2-6).
    target: the value the expression must reach.
    min_number, max_number: the range the numbers are drawn from (uniformly, with repetition).
    instances: a CodeSteer puzzle CSV (column `Puzzles`, numbers separated by spaces), absolute or
        relative to the data directory. When set, `count` and the range are ignored; `target` must
        be the file's target (24 for `24/*.csv`, 240 for `240/*.csv`, ...).
    """

    count: int = 4
    target: int = 24
    min_number: int = 1
    max_number: int = 13


class Game24(SymBenchTask):
    name = "Game24"
    category = "planning"
    checker = "CK"
    config_class = Game24Config
    config: Game24Config

    def validate_config(self) -> None:
        c = self.config
        if not 2 <= c.count <= 6:
            raise ValueError("Game24 needs 2 <= count <= 6")
        self.check_range("number", low=0)

    def open_instances(self, path: str) -> InstanceList:
        file = resolve_instances(path)
        return InstanceList([(f"{file.name}#row{row}", numbers) for row, numbers in enumerate(_read_puzzles(file))])

    def build(self, numbers: list[int], instance_id: str) -> Instance:
        c = self.config
        return Instance(
            question=_question(numbers, c.target),
            gold={"numbers": numbers, "target": c.target},
            instance_id=instance_id,
            metadata={"count": len(numbers)},
        )

    def sample(self, rng: Random) -> list[int]:
        c = self.config
        for _ in range(MAX_ATTEMPTS):
            numbers = sorted(rng.randint(c.min_number, c.max_number) for _ in range(c.count))
            if _solvable(tuple(numbers), c.target):
                return numbers
        raise RuntimeError(f"Game24: no solvable puzzle found for {c}; widen the number range or change the target")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if is_solution(answer, instance.gold["numbers"], instance.gold["target"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        numbers, target = instance.gold["numbers"], instance.gold["target"]
        return solver_program(
            find_expression,
            comment="Depth-first search: repeatedly replace two numbers by the result of an operation on them.",
            main=f"print(find_expression({numbers!r}, {target!r}), '=', {target!r})\n",
        )


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


@functools.cache
def _solvable(numbers: tuple[int, ...], target: int) -> bool:
    return find_expression(list(numbers), target) is not None


register_task(Game24)
