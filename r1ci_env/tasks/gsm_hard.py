"""GSM-Hard (SymBench): grade-school word problems with large or awkward numbers; the answer is one
number.

Data: CodeSteer's `gsmhardv2.jsonl` (1,319 rows of `input`, `code`, `target`), found in the data
directory as `symbench/gsmhardv2.jsonl` or downloaded once from CodeSteer's repository at a pinned
commit, always checked against a pinned SHA-256. Seed s serves row s % 1319 (instance id
`gsmhardv2.jsonl#row<i>`). `instances=<file>` serves another JSONL file with the same columns
(`code` optional), without a checksum.

Checker (no model; CodeSteer grades with a GPT-4o judge): the answer must be one number - an
integer, a decimal, scientific notation ("1.5e-6") or a fraction "a/b", with an optional sign
(Unicode minus too), comma thousands separators and one leading currency sign ($, EUR, GBP signs) -
and is accepted when |answer - target| <= max(1e-6 * |target|, 1e-9), except that a whole-number
answer to a whole-number target must be exactly equal (1e-6 of 6277334000 would let 6277334001
pass). The relative tolerance lets rounding to 7 or more significant digits pass (the question asks
for that precision). The absolute
part is 1e-9, not 1e-6: the stored targets are rounded to 10 decimal places (e.g. row 764's target
3.509e-07 is 200 / 82701**2 * 12 = 3.5090513e-07), which a 1e-9 margin covers, while an absolute
margin of 1e-6 would accept 0 for the two non-zero targets below 1e-6 (rows 405 and 764) and answers
off by half their value for others (row 218's target is 2.0107e-06).

Reference solution: the row's `code` (a Python function `solution()` that computes the answer from
the question's numbers) followed by a call that prints its result. Every row's code reproduces its
stored target (to the 10-decimal rounding above), checked by tests/test_task_gsm_hard.py. Rows of a
`instances=` file without `code` fall back to printing the stored target.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..data import fetch
from .base import Instance
from .common import resolve_instances
from .registry import register_task
from .symbench import InstanceList, SymBenchConfig, SymBenchTask

RELPATH = "symbench/gsmhardv2.jsonl"
URL = "https://raw.githubusercontent.com/yongchao98/CodeSteer-v1.0/2a7750d8/dataset_gather/gsmhardv2.jsonl"
SHA256 = "2032b0188a49ac0ec38cbe1e695e7d62d6dddc44bbb64f920728aca710e9ddef"
REL_TOL = 1e-6
ABS_TOL = 1e-9
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*(\d+)")
MAX_ANSWER_LENGTH = 100


@dataclass
class GSMHardConfig(SymBenchConfig):
    """Data-backed: no generator knobs.

    instances: a JSONL file with `input` and `target` (and optionally `code`) per line, absolute or
        relative to the data directory; by default the pinned `symbench/gsmhardv2.jsonl`
        (downloaded on first use when absent).
    """


class GSMHard(SymBenchTask):
    name = "GSMHard"
    category = "reasoning"
    checker = "EM"
    config_class = GSMHardConfig
    config: GSMHardConfig

    def open_instances(self, path: str) -> InstanceList:
        file = resolve_instances(path)
        self.rows = read_rows(file)
        return InstanceList([(f"{file.name}#row{index}", index) for index in range(len(self.rows))])

    def default_instances(self) -> InstanceList:
        """The pinned file, fetched and checked on first use."""
        return self.open_instances(str(fetch(RELPATH, URL, SHA256)))

    def build(self, index: int, instance_id: str) -> Instance:
        row = self.rows[index]
        return Instance(
            question=_question(row["input"]), gold=row["target"], instance_id=instance_id, metadata={"row": index}
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if number_close(answer, instance.gold) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        row = self.rows[instance.metadata["row"]]
        if not row.get("code"):
            return f"# No solution code stored for this row: print the stored target.\nprint({instance.gold!r})\n"
        program = row["code"].strip()
        return f"# The data set's own solution program for this question.\n{program}\n\n\nprint(solution())\n"


def read_rows(path: Path) -> list[dict]:
    """The rows of a GSM-Hard JSONL file (each with a string `input` and a finite number `target`)."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        target = row.get("target")
        if not isinstance(row.get("input"), str) or type(target) not in (int, float) or not math.isfinite(target):
            raise ValueError(f"{path}:{number}: each line needs a string `input` and a finite number `target`")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def _question(text: str) -> str:
    return (
        f"{text.strip()}\n\n"
        "Give the final answer as a single number inside <<< and >>>, for example <<<-9867>>> or "
        "<<<125.5>>>. If it is not a whole number, keep at least 7 significant digits."
    )


def parse_number(answer: str) -> float | None:
    """The value of one number written as described in the module docstring, or None."""
    text = answer.strip().replace("\u2212", "-")
    if text.endswith(".") and text[-2:-1].isdigit():  # a full stop after the number
        text = text[:-1]
    if len(text) > MAX_ANSWER_LENGTH:
        return None
    sign = ""
    if text[:1] and text[0] in "+-":
        sign, text = text[0], text[1:].lstrip()
    if text[:1] in ("$", "\u20ac", "\u00a3"):
        text = text[1:].strip()
    text = sign + text
    fraction = _FRACTION.fullmatch(text)
    if fraction:
        denominator = int(fraction[2])
        return float(Fraction(int(fraction[1]), denominator)) if denominator else None
    if not text or not any(ch.isdigit() for ch in text) or not _NUMBER.fullmatch(text):
        return None
    try:
        value = float(text.replace(",", ""))
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def number_close(answer: str, target: float) -> bool:
    """True iff `answer` is one number within the tolerance of `target` (see the module docstring)."""
    value = parse_number(answer)
    if value is None:
        return False
    if value.is_integer() and float(target).is_integer():  # whole numbers must match exactly
        return value == target
    return abs(value - target) <= max(REL_TOL * abs(target), ABS_TOL)


register_task(GSMHard)
