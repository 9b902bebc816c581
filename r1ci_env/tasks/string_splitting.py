"""String Splitting (SymBench): dismantle machines A, B, C into parts X, Y, Z with five fixed methods
used round-robin, and report what is left.

The methods (CodeSteer's, the same in every official instance; only their wording varies there):
1. A -> 2 X + Y      2. 2 B -> X      3. 2 C -> Y      4. B + C -> A      5. X + Y -> Z

Procedure (round-robin, as CodeSteer's question says and all 200 official answers confirm): go
through methods 1 to 5 in order, again and again; each method is used once when it can be and
skipped otherwise; the process stops after a full round in which no method could be used.

Generated instances draw the starting numbers of A, B and C uniformly from `min_count`..`max_count`;
`instances=<dir>` serves the official instances (the starting numbers are read from
`sample_<i>/question.txt`, whose `solution.json` holds only the answer).

Checker (EM): the six final numbers in the order A, B, C, X, Y, Z, written as CodeSteer asks
(`["1", "0", "1", "1", "1", "1"]`) or as plain numbers separated by spaces and/or commas, brackets
and quotes ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .base import Instance
from .common import parse_count_list
from .registry import register_task
from .symbench import ThreeCountsConfig, ThreeCountsTask, exchange, solver_program

ITEMS = "ABCXYZ"
# Method -> [used, made] as [item, count] pairs.
METHODS = [
    [[["A", 1]], [["X", 2], ["Y", 1]]],
    [[["B", 2]], [["X", 1]]],
    [[["C", 2]], [["Y", 1]]],
    [[["B", 1], ["C", 1]], [["A", 1]]],
    [[["X", 1], ["Y", 1]], [["Z", 1]]],
]
_OFFICIAL_COUNTS = re.compile(
    r"there are (\d+) units? of Machine A, (\d+) units? of Machine B, and (\d+) units? of Machine C", re.IGNORECASE
)


@dataclass
class StringSplittingConfig(ThreeCountsConfig):
    """Generator knobs. CodeSteer's complexities 1-5 draw each starting number from 1-3, 2-4, 3-6,
    4-7 and 5-10; the default range covers them all.

    min_count, max_count: the starting number of each machine A, B, C, drawn independently.
    instances: official instances (`<dir>/sample_<i>/question.txt`, e.g.
        `symbench/string_splitting`).
    """

    min_count: int = 1
    max_count: int = 10


class StringSplitting(ThreeCountsTask):
    name = "StringSplitting"
    category = "execution"
    checker = "EM"
    config_class = StringSplittingConfig
    config: StringSplittingConfig
    instance_file = "question.txt"

    def read_instance(self, path: Path, instance_id: str) -> list[int]:
        return read_counts(path)

    def build(self, problem: list[int], instance_id: str) -> Instance:
        counts = problem
        return Instance(
            question=_question(counts),
            gold=dismantle(counts),
            instance_id=instance_id,
            metadata={"counts": counts},
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if parse_count_list(answer, len(ITEMS)) == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        start = dict(zip("ABC", instance.metadata["counts"]))
        return solver_program(
            exchange,
            comment="Go round methods 1-5, using each once when possible, until a whole round uses none.",
            main="import json\n\n"
            + f"methods = {json.dumps(METHODS)}  # [used, made] as [item, count] pairs\n"
            + f"final = exchange({start!r}, methods)\n"
            + f"print(json.dumps([str(final[item]) for item in {ITEMS!r}]))\n",
        )


def dismantle(counts: list[int]) -> list[int]:
    """The final numbers of A, B, C, X, Y, Z from the starting numbers of A, B and C."""
    final = exchange(dict(zip("ABC", counts)), METHODS)
    return [final[item] for item in ITEMS]


def _question(counts: list[int]) -> str:
    a, b, c = counts
    return (
        "A workshop takes old machines of types A, B and C apart and turns them into parts X, Y and Z. "
        "It knows five methods:\n"
        "Method 1: one machine A is taken apart into two parts X and one part Y.\n"
        "Method 2: two machines B are taken apart into one part X.\n"
        "Method 3: two machines C are taken apart into one part Y.\n"
        "Method 4: one machine B and one machine C are assembled into one machine A.\n"
        "Method 5: one part X and one part Y are joined into one part Z.\n\n"
        "The workshop goes through the methods in order 1, 2, 3, 4, 5, then back to 1, and so on. At each "
        "method it uses that method once if it has what the method needs, and skips it otherwise. It stops "
        "after a full round of the five methods in which none could be used.\n\n"
        f"It starts with {a} machine{'s' * (a != 1)} A, {b} machine{'s' * (b != 1)} B and "
        f"{c} machine{'s' * (c != 1)} C, and no parts. How many machines A, B, C and parts X, Y, Z does "
        "it have at the end?\n\n"
        "Give the six numbers in the order A, B, C, X, Y, Z inside <<< and >>> as a list of strings, for "
        'example <<<["1", "0", "1", "1", "1", "1"]>>>.'
    )


def read_counts(path: Path) -> list[int]:
    """The starting numbers of machines A, B, C stated in an official `question.txt`."""
    match = _OFFICIAL_COUNTS.search(path.read_text())
    if not match:
        raise ValueError(f"{path}: no 'there are N units of Machine A, N units of Machine B, and N units of Machine C'")
    return [int(n) for n in match.groups()]


register_task(StringSplitting)
