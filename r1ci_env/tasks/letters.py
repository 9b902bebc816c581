"""Letters (SymBench): how often does a letter occur in a word, and at which 1-based positions?

Generated words are random lower-case strings with a planted number of the target letter (CodeSteer
takes real English words where its word list has enough of them and synthesises the rest the same
way); `instances=<dir>` serves CodeSteer's official words
(`Letters/Letters_dataset_min_length_<L>_max_length_<U>/<letter>_<count>_<i>/test_words.json`, the
target letter being the first part of the folder name). The gold answer is computed from the word.

Checking rule: the answer is `Count: N, Positions: [p1, p2, ...]`. CodeSteer compares the count and
the *set* of positions, so a repeated position (`Count: 2, Positions: [1, 1, 3]`) passes there; here
the positions must be exactly the right ones, each once (any order). Harmless formatting is accepted
(case, spaces, `=` for `:`, round brackets, a trailing full stop), and `Positions: []` is how a count
of 0 is written (CodeSteer's pattern cannot express it).
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask

_ANSWER = re.compile(
    r"count\s*[:=]?\s*(\d+)\s*[,;]?\s*positions?\s*[:=]?\s*[\[(]\s*(\d+(?:(?:\s*,\s*|\s+)\d+)*)?\s*,?\s*[\])]\s*\.?",
    re.IGNORECASE,
)


@dataclass
class LettersConfig(SymBenchConfig):
    """Generator knobs. Each instance draws a length, a target letter and a count uniformly, then
    places the letter `count` times at random among other random lower-case letters. The defaults
    span CodeSteer's test lengths (10-15, 15-20, 20-25) and counts (1-5); its other sets go up to
    words of 750-800 letters with 200 copies.

    min_length, max_length: length of the word (at least 1).
    min_count, max_count: how many times the target letter occurs (0 allowed; capped by the length).
    letters: the target letters to draw from (lower case a-z).
    instances: official instances (`<dir>/.../<letter>_<count>_<i>/test_words.json`,
        e.g. `symbench/Letters` or one of its `Letters_dataset_*` folders).
    """

    min_length: int = 10
    max_length: int = 25
    min_count: int = 1
    max_count: int = 5
    letters: str = string.ascii_lowercase


class Letters(SymBenchTask):
    name = "Letters"
    category = "planning"
    checker = "EM"
    config_class = LettersConfig
    config: LettersConfig
    instance_file = "test_words.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("length", low=1)
        if not 0 <= c.min_count <= c.max_count or c.min_count > c.max_length:
            raise ValueError("Letters needs 0 <= min_count <= max_count and min_count <= max_length")
        if not c.letters or set(c.letters) - set(string.ascii_lowercase):
            raise ValueError("Letters needs `letters` to be a non-empty string of lower-case letters a-z")

    def read_instance(self, path: Path, instance_id: str) -> tuple[str, str]:
        word = json.loads(path.read_text())
        if not isinstance(word, str) or not word:
            raise ValueError(f"{path}: expected a JSON string holding one word")
        return word, Path(instance_id).name.split("_")[0]

    def build(self, problem: tuple[str, str], instance_id: str) -> Instance:
        word, letter = problem
        positions = letter_positions(word, letter)
        return Instance(
            question=_question(word, letter),
            gold={"count": len(positions), "positions": positions},
            instance_id=instance_id,
            metadata={"word": word, "letter": letter, "length": len(word)},
        )

    def sample(self, rng: Random) -> tuple[str, str]:
        c = self.config
        length = rng.randint(c.min_length, c.max_length)
        letter = rng.choice(sorted(set(c.letters)))
        count = rng.randint(c.min_count, min(c.max_count, length))
        others = [ch for ch in string.ascii_lowercase if ch != letter]
        chars = [letter] * count + rng.choices(others, k=length - count)
        rng.shuffle(chars)
        return "".join(chars), letter

    def score(self, answer: str, instance: Instance) -> float:
        parsed = parse_answer(answer)
        if parsed is None:
            return 0.0
        count, positions = parsed
        gold = instance.gold
        ok = count == gold["count"] and len(positions) == len(set(positions)) and sorted(positions) == gold["positions"]
        return 1.0 if ok else 0.0

    def reference_solution(self, instance: Instance) -> str:
        word, letter = instance.metadata["word"], instance.metadata["letter"]
        return (
            f"word = {word!r}\nletter = {letter!r}\n"
            "positions = [i + 1 for i, ch in enumerate(word) if ch == letter]\n"
            "print(f'Count: {len(positions)}, Positions: {positions}')\n"
        )


def letter_positions(word: str, letter: str) -> list[int]:
    """The 1-based positions of `letter` in `word`."""
    return [i + 1 for i, ch in enumerate(word) if ch == letter]


def parse_answer(answer: str) -> tuple[int, list[int]] | None:
    """(count, positions) from `Count: N, Positions: [p, ...]`, or None when malformed."""
    match = _ANSWER.fullmatch(answer.strip())
    if not match:
        return None
    return int(match.group(1)), [int(p) for p in re.findall(r"\d+", match.group(2) or "")]


def _question(word: str, letter: str) -> str:
    return (
        f"Word: {word}\n\n"
        f"How many times does the letter '{letter}' occur in this word, and where? Number the positions "
        "from 1 (the first letter of the word is position 1).\n\n"
        "Give the final answer inside <<< and >>> as `Count: <number>, Positions: [<positions in "
        "increasing order>]`, for example <<<Count: 2, Positions: [1, 3]>>>."
    )


register_task(Letters)
