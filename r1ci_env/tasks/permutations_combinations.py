"""Permutations & Combinations (SymBench): shelve lettered books in a row under position and order
constraints.

Constraint kinds (CodeSteer's five): a book is in position p; a book is not in position p; book X is
somewhere left of book Y; book X is somewhere right of book Y; books X and Y are next to each other.
Generated like CodeSteer's data set (random constraints, redrawn until some arrangement satisfies
them); `instances=<dir>` serves CodeSteer's instances (`permutations_and_combinations/sample_<i>/
solution.json` with `items` and `constraints_text`, whose sentences are parsed).

Checking rules and the CodeSteer defect fixed: any arrangement that satisfies every constraint
scores 1.0, but - which CodeSteer does not check - it must be an arrangement of exactly the given
books, each once (CodeSteer would accept a list that leaves a book out or repeats one as long as the
constraints it mentions hold). Lenient formatting: `["A", "B"]`, `[A, B]`, `A, B` or `A B`, any
quotes, lower-case letters.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

KINDS = ("fixed_position", "left_of", "not_in_position", "right_of", "adjacent_to")
Constraint = tuple[str, str, object]  # (kind, book, book or 1-based position)

_PATTERNS = [
    (re.compile(r"Book ([A-Z]) must be placed in position (\d+)\.?"), "fixed_position"),
    (re.compile(r"Book ([A-Z]) cannot be placed in position (\d+)\.?"), "not_in_position"),
    (re.compile(r"Book ([A-Z]) must be to the left of book ([A-Z])\.?"), "left_of"),
    (re.compile(r"Book ([A-Z]) must be to the right of book ([A-Z])\.?"), "right_of"),
    (re.compile(r"Book ([A-Z]) must be adjacent to book ([A-Z])\.?"), "adjacent_to"),
]


@dataclass
class PermutationsCombinationsConfig(SymBenchConfig):
    """Generator knobs. Each instance draws a number of books, then that many random constraints
    (each kind equally likely), drawing again until some arrangement satisfies them all.
    CodeSteer's data: 6-9 books with 7-8, 8-9, 9-10 and 10-11 constraints respectively.

    min_items, max_items: number of books, labelled A, B, C, ... (2-26).
    min_constraints, max_constraints: number of constraints; None means CodeSteer's rule
        (books + 1 and books + 2).
    instances: official instances (`<dir>/sample_<i>/solution.json`, e.g.
        `symbench/permutations_and_combinations`).
    """

    min_items: int = 6
    max_items: int = 9
    min_constraints: int | None = None
    max_constraints: int | None = None


class PermutationsCombinations(SymBenchTask):
    name = "PermutationsCombinations"
    category = "planning"
    checker = "CK"
    config_class = PermutationsCombinationsConfig
    config: PermutationsCombinationsConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("items", low=2, high=26)
        low = c.min_constraints if c.min_constraints is not None else c.min_items + 1
        high = c.max_constraints if c.max_constraints is not None else c.max_items + 2
        if not 0 <= low <= high:
            raise ValueError("PermutationsCombinations needs 0 <= min_constraints <= max_constraints")

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[str], list[Constraint]]:
        data = json.loads(path.read_text())
        items = data["items"]
        constraints = []
        for line in data["constraints_text"].splitlines():
            text = re.sub(r"^\s*\d+\.\s*", "", line).strip()
            if not text:
                continue
            for pattern, kind in _PATTERNS:
                match = pattern.fullmatch(text)
                if match:
                    first, second = match.groups()
                    constraints.append((kind, first, int(second) if second.isdigit() else second))
                    break
            else:
                raise ValueError(f"{path}: unrecognised constraint {line!r}")
        books = set(items)
        for kind, book, other in constraints:
            if book not in books or (other not in books and not (type(other) is int and 1 <= other <= len(items))):
                raise ValueError(f"{path}: constraint mentions an unknown book or position: {kind} {book} {other}")
        return items, constraints

    def build(self, problem: tuple[list[str], list[Constraint]], instance_id: str) -> Instance:
        items, constraints = problem
        return Instance(
            question=_question(items, constraints),
            gold={"items": items, "constraints": [list(con) for con in constraints]},
            instance_id=instance_id,
            metadata={"num_items": len(items), "num_constraints": len(constraints)},
        )

    def sample(self, rng: Random) -> tuple[list[str], list[Constraint]]:
        c = self.config
        n = rng.randint(c.min_items, c.max_items)
        items = list(string.ascii_uppercase[:n])
        low = c.min_constraints if c.min_constraints is not None else n + 1
        high = c.max_constraints if c.max_constraints is not None else n + 2
        while True:
            constraints = [_random_constraint(rng, items) for _ in range(rng.randint(low, max(low, high)))]
            if arrange_books(items, constraints) is not None:
                return items, constraints

    def score(self, answer: str, instance: Instance) -> float:
        arrangement = [cell.upper() for cell in split_cells(answer)]
        items = instance.gold["items"]
        if sorted(arrangement) != sorted(items):
            return 0.0
        constraints = [tuple(con) for con in instance.gold["constraints"]]
        return 1.0 if satisfies(arrangement, constraints) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        constraints = [tuple(con) for con in instance.gold["constraints"]]
        return solver_program(
            arrange_books,
            comment="Backtracking over positions from left to right, checking each constraint as soon as\n"
            "the books it mentions are placed.",
            main=f"books = arrange_books({instance.gold['items']!r}, {constraints!r})\n"
            + "print('[' + ', '.join(f'\"{b}\"' for b in books) + ']')\n",
        )


def _random_constraint(rng: Random, items: list[str]) -> Constraint:
    kind = rng.choice(KINDS)
    if kind in ("fixed_position", "not_in_position"):
        return kind, rng.choice(items), rng.randint(1, len(items))
    first, second = rng.sample(items, 2)
    return kind, first, second


def satisfies(arrangement: list[str], constraints: list[Constraint]) -> bool:
    """True iff the arrangement (left to right) meets every constraint; positions are 1-based."""
    where = {book: i + 1 for i, book in enumerate(arrangement)}
    for kind, book, other in constraints:
        if kind == "fixed_position" and where[book] != other:
            return False
        if kind == "not_in_position" and where[book] == other:
            return False
        if kind == "left_of" and where[book] >= where[other]:
            return False
        if kind == "right_of" and where[book] <= where[other]:
            return False
        if kind == "adjacent_to" and abs(where[book] - where[other]) != 1:
            return False
    return True


def arrange_books(items, constraints):
    """An arrangement (list, left to right) of `items` meeting `constraints`, or None. Constraints
    are (kind, book, book-or-position) with kinds fixed_position, not_in_position, left_of,
    right_of and adjacent_to; positions are 1-based. Fills positions from the left, dropping a
    partial arrangement as soon as some constraint can no longer hold."""
    where = {}
    order = []

    def possible(kind, book, other):
        filled = len(order)
        if kind == "fixed_position":
            return where[book] == other if book in where else other > filled
        if kind == "not_in_position":
            return where.get(book) != other
        if book in where and other in where:
            if kind == "left_of":
                return where[book] < where[other]
            if kind == "right_of":
                return where[book] > where[other]
            return abs(where[book] - where[other]) == 1
        if kind == "left_of":  # the book must not come after a placed `other`
            return other not in where
        if kind == "right_of":
            return book not in where
        placed = where.get(book, where.get(other))  # adjacent_to with at most one book placed
        return placed is None or placed == filled

    def place():
        if len(order) == len(items):
            return True
        for book in items:
            if book in where:
                continue
            where[book] = len(order) + 1
            order.append(book)
            if all(possible(*con) for con in constraints) and place():
                return True
            order.pop()
            del where[book]
        return False

    return list(order) if place() else None


def _describe(kind: str, book: str, other: object) -> str:
    return {
        "fixed_position": f"Book {book} is in position {other}.",
        "not_in_position": f"Book {book} is not in position {other}.",
        "left_of": f"Book {book} is somewhere to the left of book {other}.",
        "right_of": f"Book {book} is somewhere to the right of book {other}.",
        "adjacent_to": f"Books {book} and {other} stand next to each other.",
    }[kind]


def _question(items: list[str], constraints: list[Constraint]) -> str:
    n = len(items)
    rules = "\n".join(f"{i}. {_describe(*con)}" for i, con in enumerate(constraints, 1))
    return (
        f"A shelf has {n} positions numbered 1 (leftmost) to {n} (rightmost). Place the {n} books "
        f"{', '.join(items)} on it, one book per position, so that all of these conditions hold:\n\n"
        f"{rules}\n\n"
        "Give one arrangement that satisfies every condition. Write the final answer inside <<< and "
        ">>> as the list of books from position 1 to position "
        f'{n}, for example <<<["A", "B", "C"]>>> for three books.'
    )


register_task(PermutationsCombinations)
