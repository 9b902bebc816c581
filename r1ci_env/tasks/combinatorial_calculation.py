"""Combinatorial Calculation (SymBench): put + - * / and parentheses between numbers, kept in the
given order, so that the expression reaches a target.

Generated puzzles are solvable by construction (a solver filters the random draws); `instances=<dir>`
serves CodeSteer's instances (`combinatorial_calculation/sample_<i>/solution.json` with `numbers`
and `target`). The answer is a list of tokens such as `[(, 6, /, 2, ), +, 7]`.

Checking rules and the CodeSteer defect fixed:
- CodeSteer only compares the *multiset* of numbers, so reordering them passes although the question
  forbids it. Here the numbers must appear exactly in the given order (each once, nothing else).
- Only binary + - * / and parentheses: no unary minus, no powers, no joining digits (`1, 2` is two
  numbers, `12` is a different number).
- The value is computed exactly with fractions (CodeSteer evaluates with floats and a tolerance).
- Lenient formatting: tokens may be quoted (`["6", "+", "4"]`), the brackets may be omitted, and a
  plain expression without commas (`6/2+7`) is read as well; the signs × ÷ − are read as * / -.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import evaluate_arithmetic
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

MAX_ATTEMPTS = 2_000
_SYMBOLS = {"+", "-", "*", "/", "(", ")", "×", "÷", "\u2212"}
_EXPRESSION = re.compile(r"[0-9+\-*/()×÷\u2212\s]+")


@dataclass
class CombinatorialCalculationConfig(SymBenchConfig):
    """Generator knobs. Each instance picks one (count, target) shape uniformly, then draws numbers
    uniformly from [min_number, max_number] until the sequence can reach the target.

    shapes: (how many numbers, target) pairs; the default is CodeSteer's five settings.
    min_number, max_number: the range of the numbers (non-negative).
    instances: official instances (`<dir>/sample_<i>/solution.json` with `numbers` and
        `target`, e.g. `symbench/combinatorial_calculation`).
    """

    shapes: tuple[tuple[int, int], ...] = ((3, 10), (4, 24), (5, 78), (5, 69), (6, 100))
    min_number: int = 1
    max_number: int = 9


class CombinatorialCalculation(SymBenchTask):
    name = "CombinatorialCalculation"
    category = "planning"
    checker = "CK"
    config_class = CombinatorialCalculationConfig
    config: CombinatorialCalculationConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not c.shapes or any(len(s) != 2 or not 2 <= s[0] <= 7 for s in c.shapes):
            raise ValueError("CombinatorialCalculation needs shapes of (count, target) with 2 <= count <= 7")
        self.check_range("number", low=0)

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[int], int]:
        data = json.loads(path.read_text())
        numbers, target = data.get("numbers"), data.get("target")
        if not isinstance(numbers, list) or not all(type(n) is int for n in numbers) or type(target) is not int:
            raise ValueError(f"{path}: expected integer `numbers` and `target`")
        return numbers, target

    def build(self, problem: tuple[list[int], int], instance_id: str) -> Instance:
        numbers, target = problem
        return Instance(
            question=_question(numbers, target),
            gold={"numbers": numbers, "target": target},
            instance_id=instance_id,
            metadata={"count": len(numbers)},
        )

    def sample(self, rng: Random) -> tuple[list[int], int]:
        c = self.config
        count, target = rng.choice(list(c.shapes))
        for _ in range(MAX_ATTEMPTS):
            numbers = [rng.randint(c.min_number, c.max_number) for _ in range(count)]
            if ordered_expression(numbers, target) is not None:
                return numbers, target
        raise RuntimeError(f"CombinatorialCalculation: no solvable puzzle found for {c}; change the range or targets")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if is_solution(answer, instance.gold["numbers"], instance.gold["target"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        numbers, target = instance.gold["numbers"], instance.gold["target"]
        return solver_program(
            ordered_expression,
            comment="Interval search: the values each run of consecutive numbers can make, then split the\n"
            "whole run into two parts whose values combine to the target.",
            main=f"tokens = ordered_expression({numbers!r}, {target!r})\n" + "print('[' + ', '.join(tokens) + ']')\n",
        )


def _question(numbers: list[int], target: int) -> str:
    return (
        f"Numbers, in this order: {', '.join(map(str, numbers))}\nTarget: {target}\n\n"
        f"Insert the operators +, -, * and / and any parentheses between the numbers so that the "
        f"expression equals {target} exactly. Every number must be used exactly once and the numbers "
        "must stay in the order given: you may not reorder them, join digits into larger numbers, put "
        "a minus sign in front of a number, or add numbers of your own. Division is exact (fractions "
        "may appear along the way).\n\n"
        "Give the final answer inside <<< and >>> as a list of the expression's tokens (numbers, "
        "operators and parentheses) separated by commas, for example <<<[(, 6, /, 2, ), +, 7]>>> for "
        "(6/2)+7 with the numbers 6, 2, 7 and the target 10."
    )


def parse_tokens(answer: str) -> list[str] | None:
    """The tokens of a list answer (`[(, 6, +, 4, )]`, quoted or not) or of a plain expression."""
    text = answer.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "," in text:
        tokens = [part.strip().strip("\"'").strip() for part in text.split(",")]
        if not all(t.isdigit() or t in _SYMBOLS for t in tokens):
            return None
        return tokens
    if not _EXPRESSION.fullmatch(text):
        return None
    return re.findall(r"\d+|\S", text)


def is_solution(answer: str, numbers: list[int], target: int) -> bool:
    """True iff `answer` is an expression over exactly `numbers`, in order, whose value is `target`."""
    tokens = parse_tokens(answer)
    if not tokens:
        return False
    try:
        value, used = evaluate_arithmetic(" ".join(tokens))
    except ValueError:
        return False
    return used == list(numbers) and value == target


def ordered_expression(numbers, target):
    """Tokens of an expression over `numbers`, kept in order, equal to `target` (None if none).
    Each run of consecutive numbers gets the set of exact values it can make (remembering how each
    value was first made); the whole run is then split in two, looking up the right part's value."""
    from fractions import Fraction

    n = len(numbers)
    memo = {}  # (i, j) -> {value: how}, how = None for a single number, else (k, left, op, right)

    def values(i, j):
        if (i, j) not in memo:
            if j - i == 1:
                memo[i, j] = {Fraction(numbers[i]): None}
            else:
                table = {}
                for k in range(i + 1, j):
                    right = values(k, j)
                    for a in values(i, k):
                        for b in right:
                            options = [(a + b, "+"), (a - b, "-"), (a * b, "*")]
                            if b != 0:
                                options.append((a / b, "/"))
                            for v, op in options:
                                if v not in table:
                                    table[v] = (k, a, op, b)
                memo[i, j] = table
        return memo[i, j]

    def tokens(i, j, value, outer=False):
        how = values(i, j)[value]
        if how is None:
            return [str(numbers[i])]
        k, a, op, b = how
        inner = tokens(i, k, a) + [op] + tokens(k, j, b)
        return inner if outer else ["("] + inner + [")"]

    target = Fraction(target)
    if n == 1:
        return [str(numbers[0])] if numbers[0] == target else None
    for k in range(1, n):
        right = values(k, n)
        for a in values(0, k):
            wanted = [(target - a, "+"), (a - target, "-")]
            if a != 0:
                wanted.append((target / a, "*"))
            if target != 0:
                wanted.append((a / target, "/"))
            for b, op in wanted:
                if b in right and not (op == "/" and b == 0):
                    return tokens(0, k, a, outer=k == 1) + [op] + tokens(k, n, b, outer=n - k == 1)
    return None


register_task(CombinatorialCalculation)
