"""The MATH data set's subject directories as tasks (shared by math_geometry.py and
math_counting_probability.py).

Data: CodeSteer's copy of MATH's training split, one JSON file per problem (`problem`, `level`,
`type`, `solution`) under `<data dir>/symbench/MATH/train/<subject>/<id>.json`. A directory is pinned
by one SHA-256 over its file list and contents (`directory_sha256`: the SHA-256 of the lines
"<relative path>\\t<file SHA-256>\\n" for all files, sorted by path). There is no download on first
use: MATH's public source is a tarball (https://people.eecs.berkeley.edu/~hendrycks/MATH.tar, from
github.com/hendrycks/math), and CodeSteer's copy is 1,641 separate files in
github.com/yongchao98/CodeSteer-v1.0 (folder dataset_gather/MATH, commit 2a7750d8); a missing
directory raises `DataError` saying where to put the files.

Instances: the problems in natural order of their file names (1.json, 2.json, ..., 10.json);
seed s serves problem s % n; the instance id is "<subject>/<id>.json". The gold answer is the last
\\boxed{} of the solution, checked with `_math_answer.is_equivalent` (no model; CodeSteer grades
with a GPT-4o judge). The reference solution prints the stored answer: it cannot be computed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..data import ChecksumError, DataError, sha256_of
from ..settings import DATA_DIR_VAR, data_dir
from ._math_answer import is_equivalent, last_boxed
from .base import Instance
from .common import resolve_instances
from .symbench import InstanceList, SymBenchConfig, SymBenchTask

MATH_DIR = "symbench/MATH/train"
MATH_TARBALL = "https://people.eecs.berkeley.edu/~hendrycks/MATH.tar"
CODESTEER_COPY = "https://github.com/yongchao98/CodeSteer-v1.0/tree/2a7750d8/dataset_gather/MATH"


def directory_sha256(root: Path) -> str:
    """One SHA-256 over a directory's files: of the lines "<relpath>\\t<sha256>\\n", sorted by path."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        if path.is_file():
            digest.update(f"{path.relative_to(root).as_posix()}\t{sha256_of(path)}\n".encode())
    return digest.hexdigest()


def _natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def load_subject(subject: str, sha256: str, instances: str | None) -> tuple[str, list[tuple[str, dict]]]:
    """(directory name, [(file name, problem dict), ...]) of a subject directory: `instances` when
    given (not checksummed), else the pinned `<data dir>/symbench/MATH/train/<subject>`. A directory
    is read (and checksummed) again only when its files' names, sizes or times change."""
    root = resolve_instances(instances) if instances else data_dir() / MATH_DIR / subject
    return _load_subject(subject, sha256 if not instances else None, root, _stat_signature(root))


def _stat_signature(root: Path) -> tuple:
    if not root.is_dir():
        return ()
    entries = []
    for path in root.rglob("*"):
        stat = path.stat()
        entries.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


@functools.lru_cache(maxsize=16)
def _load_subject(
    subject: str, sha256: str | None, root: Path, _signature: tuple
) -> tuple[str, list[tuple[str, dict]]]:
    if sha256 is not None:
        if not root.is_dir():
            raise DataError(
                f"the MATH {subject} problems are not in the data directory: expected {root}/<id>.json. "
                f"Download is not automatic: get MATH's training split ({MATH_TARBALL}, folder "
                f"MATH/train/{subject}) or CodeSteer's copy ({CODESTEER_COPY}/train/{subject}) and put "
                f"the JSON files under $R1CI_DATA_DIR/{MATH_DIR}/{subject}, or set {DATA_DIR_VAR}."
            )
        actual = directory_sha256(root)
        if actual != sha256:
            raise ChecksumError(
                f"{root} has directory SHA-256 {actual}, not the pinned {sha256}: it is not the expected "
                f"version of MATH/train/{subject} (CodeSteer's copy at commit 2a7750d8)."
            )
    if not root.is_dir():
        raise NotADirectoryError(f"MATH problems: {root} is not a directory")
    files = sorted((p for p in root.glob("*.json") if p.is_file()), key=lambda p: _natural_key(p.name))
    if not files:
        raise FileNotFoundError(f"MATH problems: no *.json files in {root}")
    problems = []
    for path in files:
        data = json.loads(path.read_text())
        if not isinstance(data.get("problem"), str) or not isinstance(data.get("solution"), str):
            raise ValueError(f"{path}: needs string `problem` and `solution`")
        if last_boxed(data["solution"]) is None:
            raise ValueError(f"{path}: the solution has no \\boxed{{}} answer")
        problems.append((path.name, data))
    return root.name, problems


@dataclass
class MathConfig(SymBenchConfig):
    """Data-backed: no generator knobs.

    instances: a directory of MATH problem files (`<id>.json` with `problem` and `solution`), absolute
        or relative to the data directory; by default the task's pinned subject directory
        `symbench/MATH/train/<subject>`.
    """


class MathSubjectTask(SymBenchTask):
    """One MATH subject; subclasses set `subject` and `directory_sha256`."""

    category = "reasoning"
    checker = "EM"
    config_class = MathConfig
    config: MathConfig
    subject: ClassVar[str]
    pinned_sha256: ClassVar[str]

    def open_instances(self, path: str | None) -> InstanceList:
        folder, problems = load_subject(self.subject, self.pinned_sha256, path)
        return InstanceList([(f"{folder}/{file_name}", data) for file_name, data in problems])

    def default_instances(self) -> InstanceList:
        """The pinned subject directory, checked against its checksum."""
        return self.open_instances(None)

    def build(self, data: dict, instance_id: str) -> Instance:
        return Instance(
            question=_question(data["problem"]),
            gold=last_boxed(data["solution"]),
            instance_id=instance_id,
            metadata={"level": data.get("level"), "type": data.get("type")},
        )

    def score(self, answer: str, instance: Instance) -> float:
        if _COMMON_FRACTION.search(instance.question) and _DECIMAL.search(answer):
            return 0.0  # the problem asks for a common fraction, not a decimal
        return 1.0 if is_equivalent(answer, instance.gold) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return f"# The answer cannot be computed by a program: print the stored one.\nprint({instance.gold!r})\n"


_COMMON_FRACTION = re.compile(r"common fraction", re.IGNORECASE)
_DECIMAL = re.compile(r"\d?\.\d")


def _question(problem: str) -> str:
    return (
        f"{problem.strip()}\n\n"
        "Give the final answer inside <<< and >>>, as an exact value in LaTeX or plain notation, for "
        "example <<<\\frac{3}{4}>>>, <<<2\\sqrt{5}>>> or <<<(1, -2)>>>."
    )
