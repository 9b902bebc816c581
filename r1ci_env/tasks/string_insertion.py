"""String Insertion (SymBench): insert a character after every occurrence of trigger substrings.

Over the letters A-E the triggers are the five cyclic 4-letter runs ABCD, BCDE, CDEA, DEAB, EABC,
and each one inserts its own first letter (ABCD -> A, BCDE -> B, ...) right after the occurrence.
All occurrences are found in the original string (they may overlap) and every insertion is made;
the answer is the resulting string, compared exactly (EM) after removing surrounding whitespace and
quotes (letters are upper-cased).

Fix of a CodeSteer ambiguity: its question only says "string insertion from left to right", which
leaves open whether an insertion can create or destroy a later occurrence. Its answers find all
occurrences in the original string first, and the question here says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

ALPHABET = "ABCDE"
RULES = [((ALPHABET * 2)[i : i + 4], ALPHABET[i]) for i in range(len(ALPHABET))]  # ABCD -> A, ...
MAX_ATTEMPTS = 1000


@dataclass
class StringInsertionConfig(SymBenchConfig):
    """Generator knobs. The defaults are CodeSteer's: three triggers, each followed by one random
    separator letter, with 0-2 random letters before and after; strings with any extra occurrence
    are redrawn, so the answer has exactly the drawn number of insertions.

    min_insertions, max_insertions: how many trigger occurrences (insertions) a string has (at
        least 1).
    max_separator: each trigger after the first is preceded by 1..max_separator random letters.
    max_padding: 0..max_padding random letters go before the first and after the last trigger.
    instances: official instances (`<dir>/sample_<i>/solution.json` with
        `original_string`, e.g. `symbench/string_insertion`).
    """

    min_insertions: int = 3
    max_insertions: int = 3
    max_separator: int = 1
    max_padding: int = 2


class StringInsertion(SymBenchTask):
    name = "StringInsertion"
    category = "execution"
    checker = "EM"
    config_class = StringInsertionConfig
    config: StringInsertionConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("insertions", low=1)
        if c.max_separator < 1 or c.max_padding < 0:
            raise ValueError("StringInsertion needs max_separator >= 1 and max_padding >= 0")

    def read_instance(self, path: Path, instance_id: str) -> str:
        original = json.loads(path.read_text())["original_string"]
        if not original or set(original) - set(ALPHABET):
            raise ValueError(f"{path}: original_string must be a non-empty string over {ALPHABET}")
        return original

    def build(self, problem: str, instance_id: str) -> Instance:
        original = problem
        return Instance(
            question=_question(original),
            gold=insert_after_triggers(original, RULES),
            instance_id=instance_id,
            metadata={"original": original, "length": len(original)},
        )

    def sample(self, rng: Random) -> str:
        c = self.config
        count = rng.randint(c.min_insertions, c.max_insertions)

        def letters(k: int) -> str:
            return "".join(rng.choice(ALPHABET) for _ in range(k))

        for _ in range(MAX_ATTEMPTS):
            parts = [letters(rng.randint(0, c.max_padding))]
            for i in range(count):
                if i:
                    parts.append(letters(rng.randint(1, c.max_separator)))
                parts.append(rng.choice(RULES)[0])
            parts.append(letters(rng.randint(0, c.max_padding)))
            text = "".join(parts)
            if len(_occurrences(text)) == count:
                return text
        raise RuntimeError(f"StringInsertion: no string with exactly {count} triggers found for {self.config}")

    def score(self, answer: str, instance: Instance) -> float:
        text = answer.strip().strip("\"'`").strip().upper()
        return 1.0 if text == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return solver_program(
            insert_after_triggers,
            comment="Find every trigger occurrence in the original string, then insert after each one.",
            main=f"rules = {RULES!r}\n" + f"print(insert_after_triggers({instance.metadata['original']!r}, rules))\n",
        )


def insert_after_triggers(text, rules):
    """`text` with, for every occurrence (overlaps included) of a rule's pattern in the original
    text, the rule's letter inserted right after that occurrence."""
    inserts = {}
    for pattern, letter in rules:
        for start in range(len(text) - len(pattern) + 1):
            if text.startswith(pattern, start):
                inserts.setdefault(start + len(pattern), []).append((start, letter))
    out = []
    for position in range(len(text) + 1):
        # occurrences ending at the same place insert in order of where they start
        out.extend(letter for _, letter in sorted(inserts.get(position, [])))
        if position < len(text):
            out.append(text[position])
    return "".join(out)


def _occurrences(text: str) -> list[int]:
    return [start for start in range(len(text) - 3) for pattern, _ in RULES if text.startswith(pattern, start)]


def _question(original: str) -> str:
    rules = "\n".join(f"- after each occurrence of {pattern}, insert {letter}" for pattern, letter in RULES)
    return (
        f"Strings here are made of the letters {', '.join(ALPHABET)}. The operation T inserts letters "
        f"after certain 4-letter substrings:\n{rules}\n\n"
        "To apply T, first find every occurrence of these substrings in the original string, "
        "scanning from left to right (occurrences may overlap), and then insert the corresponding "
        "letter directly after each occurrence. The inserted letters never create new occurrences. "
        "For example, T turns ABCDE into ABCDAEB (A after ABCD, B after BCDE).\n\n"
        f"What is the result of applying T once to the string {original}?\n"
        "Give the resulting string inside <<< and >>>, for example <<<ABCDAEB>>>."
    )


register_task(StringInsertion)
