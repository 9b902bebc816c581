"""String Synthesis (SymBench): combine blocks [A], [B], [C] by six fixed methods into {A}, {B},
{C}, (A), (B), (C), and report how many of each of the nine blocks remain.

The methods (CodeSteer's, the same in every official instance):
1. [A] + [B] + [C] -> {A}      2. [A] + [B] -> {C}      3. [B] + [C] -> {B}
4. [C] + [C] -> {C}            5. {A} + {C} -> (A) + (B)      6. {B} + {B} -> (C)

Procedure: in every step the lowest-numbered method that can be used is used once, and the next
step starts again from method 1; the process stops when no method can be used. CodeSteer's question
says "cycle through methods 1..6 repeatedly", which reads as one use of each method per round and
gives a different answer for 142 of its 200 official instances; its answers follow the procedure
above (for these six methods, equivalently: use each method as often as possible, in order), and
the question here states it.

Generated instances draw the starting counts of [A], [B], [C] uniformly from `min_count`..`max_count`;
`instances=<dir>` serves the official instances (`A_count`, `B_count`, `C_count`).

Checker (EM): the nine final counts in the order [A], [B], [C], {A}, {B}, {C}, (A), (B), (C),
separated by spaces and/or commas, brackets and quotes around them ignored ("2 0 1 1 0 0 0 0 0",
"[2, 0, 1, 1, 0, 0, 0, 0, 0]").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .base import Instance
from .common import parse_count_list
from .registry import register_task
from .symbench import ThreeCountsConfig, ThreeCountsTask, solver_program

BLOCKS = ["[A]", "[B]", "[C]", "{A}", "{B}", "{C}", "(A)", "(B)", "(C)"]
# Method -> (blocks used, blocks made), as indexes into BLOCKS.
METHODS = [
    ({0: 1, 1: 1, 2: 1}, {3: 1}),
    ({0: 1, 1: 1}, {5: 1}),
    ({1: 1, 2: 1}, {4: 1}),
    ({2: 2}, {5: 1}),
    ({3: 1, 5: 1}, {6: 1, 7: 1}),
    ({4: 2}, {8: 1}),
]


@dataclass
class StringSynthesisConfig(ThreeCountsConfig):
    """Generator knobs. CodeSteer's official counts lie in 1-8.

    min_count, max_count: the starting number of each of [A], [B] and [C], drawn independently.
    instances: official instances (`<dir>/sample_<i>/solution.json` with `A_count`,
        `B_count`, `C_count`, e.g. `symbench/string_synthesis`).
    """

    min_count: int = 1
    max_count: int = 8


class StringSynthesis(ThreeCountsTask):
    name = "StringSynthesis"
    category = "execution"
    checker = "EM"
    config_class = StringSynthesisConfig
    config: StringSynthesisConfig
    instance_file = "solution.json"

    def read_instance(self, path: Path, instance_id: str) -> list[int]:
        return read_counts(path)

    def build(self, problem: list[int], instance_id: str) -> Instance:
        counts = problem
        return Instance(
            question=_question(counts),
            gold=synthesize(counts, _method_lists()),
            instance_id=instance_id,
            metadata={"counts": counts},
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if parse_count_list(answer, len(BLOCKS)) == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return solver_program(
            synthesize,
            comment="Use the lowest-numbered usable method once, start again from method 1, until none is usable.",
            main=f"methods = {json.dumps(_method_lists())}  # [used, made] as [block index, count] pairs\n"
            + f"print(' '.join(map(str, synthesize({instance.metadata['counts']!r}, methods))))\n",
        )


def _method_lists() -> list:
    return [[sorted(used.items()), sorted(made.items())] for used, made in METHODS]


def synthesize(counts, methods):
    """The nine final block counts from the starting counts of the first three blocks. `methods`
    lists [used, made], each a list of [block index, count] pairs."""
    stock = list(counts) + [0] * 6
    while True:
        for used, made in methods:
            if all(stock[block] >= n for block, n in used):
                for block, n in used:
                    stock[block] -= n
                for block, n in made:
                    stock[block] += n
                break
        else:
            return stock


def _question(counts: list[int]) -> str:
    a, b, c = counts
    return (
        "There are nine kinds of blocks: [A], [B], [C], {A}, {B}, {C}, (A), (B) and (C). They can be "
        "combined by these methods:\n"
        "1. one [A], one [B] and one [C] make one {A};\n"
        "2. one [A] and one [B] make one {C};\n"
        "3. one [B] and one [C] make one {B};\n"
        "4. two [C] make one {C};\n"
        "5. one {A} and one {C} make one (A) and one (B);\n"
        "6. two {B} make one (C).\n\n"
        "The combining goes in steps. In each step, use the lowest-numbered method that can be used "
        "with the blocks at hand, exactly once; the next step starts checking again from method 1. "
        "Stop when no method can be used.\n\n"
        f"You start with {a} [A], {b} [B] and {c} [C] (and none of the other blocks). How many blocks of "
        "each kind are there at the end?\n\n"
        "Give the nine counts in the order [A], [B], [C], {A}, {B}, {C}, (A), (B), (C), separated by "
        "spaces, inside <<< and >>>, for example <<<1 0 0 2 0 1 0 0 0>>>."
    )


def read_counts(path: Path) -> list[int]:
    """The starting counts of [A], [B], [C] in an official `solution.json`."""
    data = json.loads(path.read_text())
    counts = [data.get(key) for key in ("A_count", "B_count", "C_count")]
    if not all(type(n) is int and n >= 0 for n in counts):
        raise ValueError(f"{path}: `A_count`, `B_count`, `C_count` must be non-negative integers")
    return counts


register_task(StringSynthesis)
