"""Logical Equation (SymBench): letters stand for distinct numbers from a given list; find them from
a system of equations and inequalities.

Constraint kinds (as in CodeSteer's data): `X + Y = v`, `X - Y = v`, `X = m * Y` (m a one-decimal
multiplier), `X > Y`, `X < Y`, `X = Y`. Generated puzzles draw distinct values and build true
constraints, preferring systems with a single solution; `instances=<dir>` serves CodeSteer's instances
(`logical_equation/sample_<L>_<C>_<i>/question.txt`, whose number list and numbered constraint lines
are parsed; `solution.json` holds one solution as a list).

Checking rules and the CodeSteer defect fixed: any assignment that satisfies every constraint scores
1.0, compared exactly (CodeSteer compares floats). CodeSteer only checks that each value comes from
the list, so giving two letters the same number passes there; here the answer must use every listed
number exactly once (a permutation of the list), as the question states. Lenient formatting: `[1, 2,
3]`, `1, 2, 3`, `(1 2 3)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from random import Random

from .base import Instance
from .common import split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

UNIQUE_ATTEMPTS = 30  # systems drawn per instance while looking for one with a single solution
Constraint = list  # ["sum" | "diff", X, Y, int] | ["mult", X, Y, "2.5"] | ["gt" | "lt" | "eq", X, Y]

_NUMBERS = re.compile(r"one of the numbers ([-\d,\s]+?)\.\s")
_LINE = re.compile(r"^\s*\d+\.\s+(.*?)\s*$", re.MULTILINE)
_FORMS = [
    (re.compile(r"([A-Z]) \+ ([A-Z]) = (-?\d+)"), "sum"),
    (re.compile(r"([A-Z]) - ([A-Z]) = (-?\d+)"), "diff"),
    (re.compile(r"([A-Z]) = (\d+(?:\.\d+)?)([A-Z])"), "mult"),
    (re.compile(r"([A-Z]) > ([A-Z])"), "gt"),
    (re.compile(r"([A-Z]) < ([A-Z])"), "lt"),
    (re.compile(r"([A-Z]) = ([A-Z])"), "eq"),
]


@dataclass
class LogicalEquationConfig(SymBenchConfig):
    """Generator knobs. Each instance picks one (letters, constraints) shape uniformly, draws that
    many distinct values uniformly from [min_value, max_value], shuffles them onto the letters and
    states true constraints about them: sums, differences and one-decimal multiples (95%) or
    comparisons (5%), as CodeSteer's generator does. Up to 30 systems are drawn and the first with a
    single solution is kept (else the last one).

    shapes: (letters, constraints) pairs; the default is CodeSteer's ten, (9, 7) to (15, 14).
    min_value, max_value: range of the values (positive integers).
    instances: official instances (`<dir>/sample_<L>_<C>_<i>/question.txt`, e.g.
        `symbench/logical_equation`).
    """

    shapes: tuple[tuple[int, int], ...] = (
        (9, 7),
        (9, 8),
        (11, 10),
        (11, 11),
        (13, 10),
        (13, 11),
        (13, 12),
        (15, 12),
        (15, 13),
        (15, 14),
    )
    min_value: int = 1
    max_value: int = 150


class LogicalEquation(SymBenchTask):
    name = "LogicalEquation"
    category = "planning"
    checker = "CK"
    config_class = LogicalEquationConfig
    config: LogicalEquationConfig
    instance_file = "question.txt"

    def validate_config(self) -> None:
        c = self.config
        if not c.shapes or any(len(s) != 2 or not 2 <= s[0] <= 26 or s[1] < 1 for s in c.shapes):
            raise ValueError("LogicalEquation needs shapes of (letters, constraints) with 2-26 letters")
        if not 1 <= c.min_value or c.max_value - c.min_value + 1 < max(s[0] for s in c.shapes):
            raise ValueError("LogicalEquation needs 1 <= min_value and enough values for the letters")

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[int], list[Constraint]]:
        return parse_question(path.read_text())

    def build(self, problem: tuple[list[int], list[Constraint]], instance_id: str) -> Instance:
        numbers, constraints = problem
        return Instance(
            question=_question(numbers, constraints),
            gold={"numbers": numbers, "constraints": constraints},
            instance_id=instance_id,
            metadata={"letters": len(numbers), "constraints": len(constraints)},
        )

    def sample(self, rng: Random) -> tuple[list[int], list[Constraint]]:
        c = self.config
        letters, count = rng.choice(list(c.shapes))
        kept = None
        for _ in range(UNIQUE_ATTEMPTS):
            values = rng.sample(range(c.min_value, c.max_value + 1), letters)
            constraints = _random_constraints(rng, values, count)
            if constraints is None:
                continue
            kept = sorted(values), constraints
            if len(solve_letters(kept[0], constraints, limit=2)) == 1:
                break
        if kept is None:
            raise RuntimeError(f"LogicalEquation: could not build {count} constraints for {letters} letters")
        return kept

    def score(self, answer: str, instance: Instance) -> float:
        cells = split_cells(answer)
        if not all(re.fullmatch(r"-?\d+", cell) for cell in cells):
            return 0.0
        values = [int(cell) for cell in cells]
        gold = instance.gold
        if sorted(values) != sorted(gold["numbers"]):
            return 0.0
        return 1.0 if satisfies(values, gold["constraints"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        gold = instance.gold
        return solver_program(
            solve_letters,
            comment="Backtracking: assign letters in an order that follows the constraints, checking every\n"
            "constraint whose letters all have values.",
            main=f"solution = solve_letters({gold['numbers']!r}, {gold['constraints']!r}, limit=1)[0]\n"
            + "print(solution)\n",
        )


def _letter(i: int) -> str:
    return chr(ord("A") + i)


def _random_constraints(rng: Random, values: list[int], count: int) -> list[Constraint] | None:
    """`count` distinct true constraints about `values` (letter i has values[i]), or None."""
    n = len(values)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    multiples = [(i, j, m) for i, j in pairs for m in range(11, 50) if values[i] * 10 == m * values[j]]
    constraints: list[Constraint] = []
    for _ in range(count * 200):
        if len(constraints) == count:
            return constraints
        kind = rng.choice(("sum", "diff", "mult")) if rng.random() < 0.95 else "gt"
        i, j = rng.choice(pairs)
        a, b = _letter(i), _letter(j)
        if kind == "sum":
            i, j = min(i, j), max(i, j)
            new = ["sum", _letter(i), _letter(j), values[i] + values[j]]
        elif kind == "diff":
            new = ["diff", a, b, values[i] - values[j]]
        elif kind == "mult":
            if not multiples:
                continue
            i, j, m = rng.choice(multiples)
            new = ["mult", _letter(i), _letter(j), f"{m // 10}.{m % 10}"]
        else:
            new = ["gt", a, b] if values[i] > values[j] else ["gt", b, a]
        if new not in constraints:
            constraints.append(new)
    return None


def _holds(constraint: Constraint, value: dict[str, int]) -> bool:
    kind, x, y = constraint[:3]
    a, b = value[x], value[y]
    if kind == "sum":
        return a + b == constraint[3]
    if kind == "diff":
        return a - b == constraint[3]
    if kind == "mult":
        return a == Fraction(constraint[3]) * b
    return {"gt": a > b, "lt": a < b, "eq": a == b}[kind]


def satisfies(values: list[int], constraints: list[Constraint]) -> bool:
    """True iff the letters A, B, ... taking `values` meet every constraint."""
    value = {_letter(i): v for i, v in enumerate(values)}
    try:
        return all(_holds(con, value) for con in constraints)
    except KeyError:  # a constraint names a letter the answer does not cover
        return False


def solve_letters(numbers, constraints, limit=1):
    """Up to `limit` solutions: lists giving letters A, B, ... distinct numbers from `numbers` (a
    permutation of it) that meet every constraint. A constraint is [kind, X, Y(, value)] with kind
    'sum' (X + Y = value), 'diff' (X - Y = value), 'mult' (X = value * Y, value a decimal string),
    'gt' (X > Y), 'lt' (X < Y) or 'eq' (X = Y)."""
    from collections import Counter
    from fractions import Fraction

    letters = [chr(ord("A") + i) for i in range(len(numbers))]
    touching = {x: [] for x in letters}
    for con in constraints:
        touching[con[1]].append(con)
        touching[con[2]].append(con)

    # Order: each next letter shares the most constraints with the letters before it.
    order = []
    while len(order) < len(letters):
        rest = [x for x in letters if x not in order]
        order.append(
            max(rest, key=lambda x: (sum(c[1] in order or c[2] in order for c in touching[x]), len(touching[x])))
        )

    def holds(con, value):
        kind, a, b = con[0], value[con[1]], value[con[2]]
        if kind == "sum":
            return a + b == con[3]
        if kind == "diff":
            return a - b == con[3]
        if kind == "mult":
            return a == Fraction(con[3]) * b
        return {"gt": a > b, "lt": a < b, "eq": a == b}[kind]

    left = Counter(numbers)
    value = {}
    found = []

    def search(k):
        if k == len(order):
            found.append([value[x] for x in letters])
            return len(found) >= limit
        x = order[k]
        for v in sorted(left):
            if not left[v]:
                continue
            value[x] = v
            if all(holds(c, value) for c in touching[x] if c[1] in value and c[2] in value):
                left[v] -= 1
                if search(k + 1):
                    return True
                left[v] += 1
            del value[x]
        return False

    search(0)
    return found


def parse_question(text: str) -> tuple[list[int], list[Constraint]]:
    """The number list and the constraints of a CodeSteer logical-equation question."""
    match = _NUMBERS.search(text)
    if not match:
        raise ValueError("logical equation: no 'one of the numbers ...' list in the question")
    numbers = sorted(int(n) for n in re.findall(r"-?\d+", match.group(1)))
    constraints: list[Constraint] = []
    for line in _LINE.findall(text):
        for pattern, kind in _FORMS:
            m = pattern.fullmatch(line)
            if m:
                if kind in ("sum", "diff"):
                    constraints.append([kind, m.group(1), m.group(2), int(m.group(3))])
                elif kind == "mult":
                    constraints.append([kind, m.group(1), m.group(3), m.group(2)])
                else:
                    constraints.append([kind, m.group(1), m.group(2)])
                break
        else:
            raise ValueError(f"logical equation: unrecognised constraint {line!r}")
    letters = {_letter(i) for i in range(len(numbers))}
    if not constraints or any(con[1] not in letters or con[2] not in letters for con in constraints):
        raise ValueError("logical equation: constraints missing or naming unknown letters")
    return numbers, constraints


def _describe(con: Constraint) -> str:
    kind, x, y = con[:3]
    if kind == "sum":
        return f"{x} + {y} = {con[3]}"
    if kind == "diff":
        return f"{x} - {y} = {con[3]}"
    if kind == "mult":
        return f"{x} = {con[3]} * {y}"
    return f"{x} {dict(gt='>', lt='<', eq='=')[kind]} {y}"


def _question(numbers: list[int], constraints: list[Constraint]) -> str:
    letters = [_letter(i) for i in range(len(numbers))]
    rules = "\n".join(f"{i}. {_describe(con)}" for i, con in enumerate(constraints, 1))
    return (
        f"Each of the {len(letters)} letters {', '.join(letters)} stands for a number from this list: "
        f"{', '.join(map(str, numbers))}. Every number in the list belongs to exactly one letter.\n\n"
        f"The letters satisfy:\n{rules}\n\n"
        "Find the number of every letter. Give the final answer inside <<< and >>> as the list of "
        f"values in alphabetical order of the letters ({letters[0]} first), for example "
        "<<<[1, 2, 3]>>> would mean A = 1, B = 2 and C = 3."
    )


register_task(LogicalEquation)
