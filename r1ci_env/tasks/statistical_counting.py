"""Statistical Counting (SymBench): score the runs of repeated letters in a string.

Each scoring rule names a letter and a number of points: every maximal run of that letter of at
least `min_run` characters (CodeSteer: two) adds the points once, however long the run is. The
answer is the total, an integer compared exactly (EM).

Fix of a CodeSteer ambiguity: its question says "if there are two or more consecutive A's, add 1",
which does not say whether a run of four A's counts once, three times or twice; its answers count
each maximal run once, and the question here says so.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import parse_int
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

Rule = dict  # {"letter": "A", "score": 1, "min_consecutive": 2} (CodeSteer's layout)


@dataclass
class StatisticalCountingConfig(SymBenchConfig):
    """Generator knobs. The defaults cover CodeSteer's sets (strings of 5-65 letters over 2-7
    letters, letter i scoring i points, runs of two or more).

    min_length, max_length: the string length (at least 1).
    min_letters, max_letters: how many letters the string uses (A, B, C, ...; 1-26); every letter
        used has a rule and is drawn uniformly at each position.
    min_run: the shortest run that scores (at least 2).
    random_scores: False gives letter i (A = 1) i points, as CodeSteer does; True draws each
        letter's points uniformly from 1..max_score.
    max_score: the largest points value when random_scores is True.
    instances: official instances (`<dir>/sample_<i>/solution.json` with `sequence`
        and `rules`, e.g. `symbench/statistical_counting_dataset`).
    """

    min_length: int = 5
    max_length: int = 65
    min_letters: int = 2
    max_letters: int = 7
    min_run: int = 2
    random_scores: bool = False
    max_score: int = 10


class StatisticalCounting(SymBenchTask):
    name = "StatisticalCounting"
    category = "execution"
    checker = "EM"
    config_class = StatisticalCountingConfig
    config: StatisticalCountingConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("length", low=1)
        self.check_range("letters", low=1, high=26)
        if c.min_run < 2:
            raise ValueError("StatisticalCounting needs min_run >= 2")
        if c.max_score < 1:
            raise ValueError("StatisticalCounting needs max_score >= 1")

    def sample(self, rng: Random) -> tuple[str, list[Rule]]:
        c = self.config
        letters = string.ascii_uppercase[: rng.randint(c.min_letters, c.max_letters)]
        rules = [
            {
                "letter": letter,
                "score": rng.randint(1, c.max_score) if c.random_scores else i + 1,
                "min_consecutive": c.min_run,
            }
            for i, letter in enumerate(letters)
        ]
        sequence = "".join(rng.choice(letters) for _ in range(rng.randint(c.min_length, c.max_length)))
        return sequence, rules

    def read_instance(self, path: Path, instance_id: str) -> tuple[str, list[Rule]]:
        data = json.loads(path.read_text())
        sequence = data["sequence"]
        rules = [
            {"letter": r["letter"], "score": r["score"], "min_consecutive": r.get("min_consecutive", 2)}
            for r in data["rules"]
        ]
        if not sequence or any(r["min_consecutive"] < 1 for r in rules):
            raise ValueError(f"{path}: expected a non-empty sequence and positive run lengths")
        return sequence, rules

    def build(self, problem: tuple[str, list[Rule]], instance_id: str) -> Instance:
        sequence, rules = problem
        return Instance(
            question=_question(sequence, rules),
            gold=run_score(sequence, rules),
            instance_id=instance_id,
            metadata={"sequence": sequence, "rules": rules},
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if parse_int(answer) == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        m = instance.metadata
        return solver_program(
            run_score,
            comment="Split the string into maximal runs of one letter and add each scoring run's points.",
            main=f"print(run_score({m['sequence']!r}, {m['rules']!r}))\n",
        )


def run_score(sequence, rules):
    """The total points: every maximal run of a rule's letter that is at least the rule's
    `min_consecutive` long adds the rule's `score` once."""
    from itertools import groupby

    total = 0
    for letter, run in groupby(sequence):
        length = len(list(run))
        for rule in rules:
            if rule["letter"] == letter and length >= rule["min_consecutive"]:
                total += rule["score"]
    return total


def _question(sequence: str, rules: list[Rule]) -> str:
    letters = sorted({rule["letter"] for rule in rules} | set(sequence))
    rule_lines = "\n".join(
        f"- every run of {rule['min_consecutive']} or more consecutive {rule['letter']}'s scores "
        f"{rule['score']} point{'s' if rule['score'] != 1 else ''}"
        for rule in rules
    )
    return (
        f"The string below is made of the letters {', '.join(letters)}:\n{sequence}\n\n"
        "Read it from left to right and split it into runs, where a run is a maximal block of "
        "identical adjacent letters (it cannot be extended on either side). Starting from a total "
        "of 0, add points as follows:\n"
        f"{rule_lines}\n"
        "A run scores once, however long it is (AAAA is one run of four A's), and shorter runs score "
        "nothing.\n\n"
        "What is the total score? Give the integer inside <<< and >>>, for example <<<5>>>."
    )


register_task(StatisticalCounting)
