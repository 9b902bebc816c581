"""Number Multiplying (SymBench): the exact product of a few signed integers.

Checking rule (stricter than CodeSteer's): CodeSteer accepts an answer when the product, plain or
comma-formatted, appears anywhere in it, so a list of guesses can pass. Here the whole extracted
answer must be one integer (a leading sign, comma thousands separators and spaces are allowed) equal
to the product.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from pathlib import Path

from .base import Instance, Task, TaskConfig
from .common import InstanceDirectory, generated_id, parse_int, seeded_rng
from .registry import register_task

TASK_FILE = "input_value_list.txt"


@dataclass
class NumberMultiplyConfig(TaskConfig):
    """Generator knobs. Each number gets a uniform digit count, a uniform value with that many
    digits, and a random sign. The defaults cover CodeSteer's sets digit_1_2_4, digit_1_3_4 and
    digit_1_2_2_4; its harder sets are two numbers of 4 to 20 digits each.

    min_count, max_count: how many numbers are multiplied (at least 2).
    min_digits, max_digits: digits per number (at least 1).
    source: a directory of official instances (`<dir>/.../sample_<i>/input_value_list.txt`, e.g.
        `symbench/number_multiply`), absolute or relative to the data directory; when set, the other
        knobs are ignored.
    """

    min_count: int = 3
    max_count: int = 4
    min_digits: int = 1
    max_digits: int = 4
    source: str | None = None


class NumberMultiply(Task):
    name = "NumberMultiply"
    source = "symbench"
    category = "execution"
    checker = "EM"
    config_class = NumberMultiplyConfig
    config: NumberMultiplyConfig

    def validate_config(self) -> None:
        """Check the ranges and, with `source=`, list the official instances."""
        c = self.config
        if not 2 <= c.min_count <= c.max_count:
            raise ValueError("NumberMultiply needs 2 <= min_count <= max_count")
        if not 1 <= c.min_digits <= c.max_digits:
            raise ValueError("NumberMultiply needs 1 <= min_digits <= max_digits")
        self.official = InstanceDirectory(c.source, TASK_FILE) if c.source else None

    def generate(self, seed: int) -> Instance:
        if self.official:
            instance_id, path = self.official.pick(seed)
            numbers = _read_numbers(path)
        else:
            instance_id, numbers = generated_id(seed), self._random_numbers(seed)
        return Instance(
            question=_question(numbers),
            gold=str(math.prod(numbers)),
            instance_id=instance_id,
            metadata={"numbers": numbers},
        )

    def _random_numbers(self, seed: int) -> list[int]:
        c = self.config
        rng = seeded_rng(seed, self.name)
        numbers = []
        for _ in range(rng.randint(c.min_count, c.max_count)):
            digits = rng.randint(c.min_digits, c.max_digits)
            numbers.append(rng.choice((-1, 1)) * rng.randint(10 ** (digits - 1), 10**digits - 1))
        return numbers

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if parse_int(answer) == int(instance.gold) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        numbers = instance.metadata["numbers"]
        return f"import math\n\nprint(math.prod({numbers!r}))\n"

    def num_questions(self) -> int | None:
        return len(self.official) if self.official else None


def _read_numbers(path: Path) -> list[int]:
    numbers = ast.literal_eval(path.read_text().strip())
    if not isinstance(numbers, list) or not all(type(n) is int for n in numbers):
        raise ValueError(f"{path}: expected a list of integers")
    return numbers


def _question(numbers: list[int]) -> str:
    product = " * ".join(f"({n})" if n < 0 else str(n) for n in numbers)
    return (
        f"Multiply these integers and give the exact result: {product}\n\n"
        "Answer with the integer alone (digits, with a minus sign if it is negative) inside <<< and >>>, "
        "for example <<<-5832>>>."
    )


register_task(NumberMultiply)
