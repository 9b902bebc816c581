"""Cryptanalysis (SymBench): deduce a lock's code (two different digits, then two different letters)
from guesses and Mastermind-style feedback.

Feedback is given separately for the two digits and for the two letters of a guess. A guessed value
is "correct" when it occurs in the code (then "in the right position" or not). An incorrect value is
"too small" / "too early in the alphabet" when it is below both code values of its kind, "too
large" / "too late" when above both, and gets no size hint when it lies between them. When both
values of a kind are incorrect, a size hint is given only if both get the same one. These are the
semantics of CodeSteer's feedback, read off its data: all 100 official instances' feedback is
reproduced by them, and each has exactly one consistent code (the question states them explicitly,
which CodeSteer's does not).

Generated instances draw a random code, then add random guesses (different digits, different
letters), keeping only those that rule out at least one remaining candidate, until exactly one code
is consistent; draws needing more than `max_conditions` guesses are redrawn. `instances=<dir>` serves
the official instances (guesses and feedback parsed from `sample_<i>/question.txt`).

Checker (EM; the code is unique, so this is also a constraint check): the four symbols in order,
written as CodeSteer asks (`["5", "3", "F", "A"]`) or as "5, 3, F, A" or "53FA"; brackets, quotes,
commas and spaces ignored, letters case-insensitive.
"""

from __future__ import annotations

import inspect
import json
import re
import string
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path
from random import Random

from .base import Instance
from .common import split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask

DIGITS, LETTERS = string.digits, string.ascii_uppercase
MAX_ATTEMPTS = 1000
DIGIT_PAIRS = ["".join(p) for p in permutations(DIGITS, 2)]
LETTER_PAIRS = ["".join(p) for p in permutations(LETTERS, 2)]

# A feedback code for one kind (digits or letters): "placed2" both correct and in place, "swapped2"
# both correct but in each other's place, "placed1-<hint>" / "moved1-<hint>" one correct (in place
# or not) and the other incorrect, "none-<hint>" both incorrect; <hint> is "low", "high" or "mid"
# (no size hint).


@dataclass
class CryptanalysisConfig(SymBenchConfig):
    """Generator knobs. CodeSteer's puzzles have 2-17 conditions (guesses), most of them 4-10.

    min_conditions, max_conditions: the number of guesses a generated puzzle may list; guesses are
        added until the code is determined, and draws that end outside the range are redrawn.
    instances: official instances (`<dir>/sample_<i>/question.txt`, e.g.
        `symbench/cryptanalysis`).
    """

    min_conditions: int = 2
    max_conditions: int = 17


class Cryptanalysis(SymBenchTask):
    name = "Cryptanalysis"
    category = "planning"
    checker = "EM"
    config_class = CryptanalysisConfig
    config: CryptanalysisConfig
    instance_file = "question.txt"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("conditions", low=1)
        if c.max_conditions < 3:
            raise ValueError("Cryptanalysis needs max_conditions >= 3 (fewer guesses rarely determine a code)")

    def read_instance(self, path: Path, instance_id: str) -> tuple[str, list[list[str]]]:
        conditions = read_conditions(path)
        codes = consistent_codes(conditions)
        if len(codes) != 1:
            raise ValueError(f"{path}: {len(codes)} codes fit the conditions, not exactly one")
        return codes[0], conditions

    def build(self, problem: tuple[str, list[list[str]]], instance_id: str) -> Instance:
        code, conditions = problem
        return Instance(
            question=_question(conditions),
            gold=code,
            instance_id=instance_id,
            metadata={"conditions": conditions},
        )

    def sample(self, rng: Random) -> tuple[str, list[list[str]]]:
        c = self.config
        for _ in range(MAX_ATTEMPTS):
            code = rng.choice(DIGIT_PAIRS) + rng.choice(LETTER_PAIRS)
            digits, letters = list(DIGIT_PAIRS), list(LETTER_PAIRS)
            conditions: list[list[str]] = []
            while (len(digits) > 1 or len(letters) > 1) and len(conditions) < c.max_conditions:
                guess = rng.choice(DIGIT_PAIRS) + rng.choice(LETTER_PAIRS)
                fb_digits, fb_letters = part_feedback(guess[:2], code[:2]), part_feedback(guess[2:], code[2:])
                new_digits = [p for p in digits if part_feedback(guess[:2], p) == fb_digits]
                new_letters = [p for p in letters if part_feedback(guess[2:], p) == fb_letters]
                if len(new_digits) < len(digits) or len(new_letters) < len(letters):
                    digits, letters = new_digits, new_letters
                    conditions.append([guess, fb_digits, fb_letters])
            if len(digits) == len(letters) == 1 and c.min_conditions <= len(conditions):
                return code, conditions
        raise RuntimeError(f"Cryptanalysis: no puzzle found for {c}; widen the range of conditions")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if parse_code(answer) == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return (
            "# Try every code (two different digits, two different letters) against all the conditions.\n"
            + "from itertools import permutations\n\n\n"
            + inspect.getsource(part_feedback)
            + "\n\n"
            + inspect.getsource(consistent_codes)
            + "\n\n# [guess, feedback on the digits, feedback on the letters]\n"
            + f"conditions = {json.dumps(instance.metadata['conditions'])}\n"
            + "(code,) = consistent_codes(conditions)\n"
            + "print('[' + ', '.join(f'\"{symbol}\"' for symbol in code) + ']')\n"
        )


# ---------------------------------------------------------------- feedback and solving


def part_feedback(guess, code):
    """The feedback code (see the comment at the top of the module) for one kind: `guess` and `code`
    are two characters each (two digits or two letters)."""
    correct = [guess[i] == code[i] for i in range(2) if guess[i] in code]
    wrong = [g for g in guess if g not in code]

    def hint(value):
        return "low" if value < min(code) else "high" if value > max(code) else "mid"

    if len(correct) == 2:
        return "placed2" if all(correct) else "swapped2"
    if len(correct) == 1:
        return ("placed1-" if correct[0] else "moved1-") + hint(wrong[0])
    hints = {hint(value) for value in wrong}
    return "none-" + (hints.pop() if len(hints) == 1 else "mid")


def consistent_codes(conditions):
    """Every code (a 4-character string) consistent with all conditions [guess, digit feedback,
    letter feedback]; digits and letters are solved separately."""
    digits = ["".join(p) for p in permutations("0123456789", 2)]
    letters = ["".join(p) for p in permutations("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2)]
    for guess, fb_digits, fb_letters in conditions:
        digits = [d for d in digits if part_feedback(guess[:2], d) == fb_digits]
        letters = [p for p in letters if part_feedback(guess[2:], p) == fb_letters]
    return [d + p for d in digits for p in letters]


def parse_code(answer: str) -> str | None:
    """The four code symbols in `answer` (see the module docstring), upper-cased, or None."""
    code = "".join(split_cells(answer)).upper()
    if len(code) != 4 or not (code[:2].isdigit() and code[2:].isalpha() and code[2:].isascii()):
        return None
    return code


# ---------------------------------------------------------------- question and official files


_KIND = {
    "digits": ("digit", "digits", "too small", "too large"),
    "letters": ("letter", "letters", "too early in the alphabet", "too late in the alphabet"),
}


def describe_feedback(code: str, kind: str) -> str:
    """A feedback code in words, for "digits" or "letters"."""
    one, both, low, high = _KIND[kind]
    hint = {"low": f" and {low}", "high": f" and {high}", "mid": ""}
    if code == "placed2":
        return f"both {both} are correct and in the right positions"
    if code == "swapped2":
        return f"both {both} are correct but each is in the other's position"
    head, _, size = code.partition("-")
    if head == "none":
        return f"both {both} are incorrect{hint[size]}"
    where = "in the right position" if head == "placed1" else "in the wrong position"
    return f"one {one} is correct and {where}; the other {one} is incorrect{hint[size]}"


def _question(conditions: list[list[str]]) -> str:
    listed = "\n".join(
        f"{i}. Guess {guess}: {describe_feedback(fb_digits, 'digits')}; {describe_feedback(fb_letters, 'letters')}."
        for i, (guess, fb_digits, fb_letters) in enumerate(conditions, 1)
    )
    return (
        "A combination lock's code is two digits followed by two letters (A-Z). The two digits are "
        "different from each other, and so are the two letters. Each guess below was answered with "
        "feedback on its two digits and on its two letters:\n\n"
        f"{listed}\n\n"
        "How to read the feedback: a guessed digit or letter is correct when it occurs in the code, in the "
        "right position or not. An incorrect digit is called too small when it is smaller than both digits "
        "of the code and too large when it is larger than both; an incorrect letter is too early or too late "
        "in the alphabet in the same sense. When exactly one digit (or letter) is incorrect and no such remark "
        "is made, it lies between the code's two digits (letters). When both are incorrect, a remark is made "
        "only when it holds for both of them (for example both too small); otherwise no remark is made.\n\n"
        "Find the code. Give it inside <<< and >>> as a list of its four symbols in order, for example "
        '<<<["5", "3", "F", "A"]>>>.'
    )


_OFFICIAL_CONDITION = re.compile(r"^\d+\. Guess: (\d\d[A-Z][A-Z]), Feedback: (.+?)\.?\s*$", re.MULTILINE)
_OFFICIAL_HINTS = {
    "too small": "low",
    "too large": "high",
    "too early in the alphabet": "low",
    "too late in the alphabet": "high",
    "incorrect": "mid",
}


def _official_part(clauses: list[str], one: str, both: str) -> str:
    """CodeSteer's feedback clauses for one kind -> a feedback code."""
    text = "; ".join(clauses)
    if text == f"both {both} are correct and in the correct positions":
        return "placed2"
    if text == f"both {both} are correct but in the wrong positions":
        return "swapped2"
    match = re.fullmatch(rf"both {both} are incorrect(?: and (.+))?", text)
    if match:
        return "none-" + _OFFICIAL_HINTS[match[1] or "incorrect"]
    match = re.fullmatch(
        rf"one {one} is correct (and in the correct|but in the wrong) position; one {one} is incorrect and (.+)", text
    )
    if match and match[2] in _OFFICIAL_HINTS:
        return ("placed1-" if match[1].startswith("and") else "moved1-") + _OFFICIAL_HINTS[match[2]]
    raise ValueError(f"unrecognised feedback: {text!r}")


def read_conditions(path: Path) -> list[list[str]]:
    """The [guess, digit feedback, letter feedback] conditions of an official `question.txt`."""
    conditions = []
    for guess, feedback in _OFFICIAL_CONDITION.findall(path.read_text()):
        clauses = feedback.split("; ")
        try:
            digits = _official_part([c for c in clauses if " number" in c], "number", "numbers")
            letters = _official_part([c for c in clauses if " letter" in c], "letter", "letters")
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        conditions.append([guess, digits, letters])
    if not conditions:
        raise ValueError(f"{path}: no 'N. Guess: ..., Feedback: ...' lines")
    return conditions


register_task(Cryptanalysis)
