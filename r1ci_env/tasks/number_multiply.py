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
from random import Random

from .base import Instance
from .common import parse_int
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask


@dataclass
class NumberMultiplyConfig(SymBenchConfig):
    """Generator knobs. Each number gets a uniform digit count, a uniform value with that many
    digits, and a random sign. The defaults cover CodeSteer's sets digit_1_2_4, digit_1_3_4 and
    digit_1_2_2_4; its harder sets are two numbers of 4 to 20 digits each.

    min_count, max_count: how many numbers are multiplied (at least 2).
    min_digits, max_digits: digits per number (at least 1).
    instances: official instances (`<dir>/.../sample_<i>/input_value_list.txt`, e.g.
        `symbench/number_multiply`).
    """

    min_count: int = 3
    max_count: int = 4
    min_digits: int = 1
    max_digits: int = 4


class NumberMultiply(SymBenchTask):
    name = "NumberMultiply"
    category = "execution"
    checker = "EM"
    config_class = NumberMultiplyConfig
    config: NumberMultiplyConfig
    instance_file = "input_value_list.txt"

    def validate_config(self) -> None:
        self.check_range("count", low=2)
        self.check_range("digits", low=1)

    def read_instance(self, path: Path, instance_id: str) -> list[int]:
        numbers = ast.literal_eval(path.read_text().strip())
        if not isinstance(numbers, list) or not all(type(n) is int for n in numbers):
            raise ValueError(f"{path}: expected a list of integers")
        return numbers

    def build(self, problem: list[int], instance_id: str) -> Instance:
        numbers = problem
        return Instance(
            question=_question(numbers),
            gold=str(math.prod(numbers)),
            instance_id=instance_id,
            metadata={"numbers": numbers},
        )

    def sample(self, rng: Random) -> list[int]:
        c = self.config
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


def _question(numbers: list[int]) -> str:
    product = " * ".join(f"({n})" if n < 0 else str(n) for n in numbers)
    return (
        f"Multiply these integers and give the exact result: {product}\n\n"
        "Answer with the integer alone (digits, with a minus sign if it is negative) inside <<< and >>>, "
        "for example <<<-5832>>>."
    )


register_task(NumberMultiply)
