"""The SymBench task base: the plumbing every CodeSteer task shares, so that a module only says how
to sample a problem, read an official one, build the question, score and solve.

A SymBench task either draws problems from a seeded generator (the config's knobs) or, with
`instances=<path>`, serves CodeSteer's official instances: a directory (absolute, or relative to the
data directory `$R1CI_DATA_DIR`) in which every folder holding the task's `instance_file` is one
instance. Then the generator knobs are ignored, seed `s` picks instance `s % n`, and
`num_questions()` is `n`.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any, ClassVar, Protocol

from .base import Instance, Task, TaskConfig
from .common import InstanceDirectory, generated_id, seeded_rng

RENAMED_KNOBS = {"source": "instances"}


@dataclass(kw_only=True)
class SymBenchConfig(TaskConfig):
    """instances: official instances to serve instead of generated ones (see the module docstring)."""

    instances: str | None = None


class OfficialInstances(Protocol):
    """What `SymBenchTask.open_instances` returns: a sized collection that maps a seed to an instance
    id and whatever `read_instance` needs (a file path, a row)."""

    def __len__(self) -> int: ...

    def pick(self, seed: int) -> tuple[str, Any]: ...


class InstanceList:
    """Official instances held in memory as (instance id, item) pairs, for data sets stored in one
    file or loaded whole; seed `s` picks pair `s % len`."""

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        if not items:
            raise ValueError("official instances: the data set is empty")
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def pick(self, seed: int) -> tuple[str, Any]:
        return self.items[seed % len(self.items)]


def renamed_knobs(task_name: str, knobs: dict[str, Any]) -> dict[str, Any]:
    """`knobs` with the deprecated `source=` renamed `instances=`, warning once per call."""
    for old, new in RENAMED_KNOBS.items():
        if old in knobs:
            if new in knobs:
                raise TypeError(f"{task_name}: give `{new}=` only (`{old}=` is its deprecated name)")
            warnings.warn(f"{task_name}: the `{old}=` knob is renamed `{new}=`", DeprecationWarning, stacklevel=3)
            knobs = {**{k: v for k, v in knobs.items() if k != old}, new: knobs[old]}
    return knobs


class SymBenchTask(Task):
    """A CodeSteer (SymBench) task. Subclasses set `instance_file` and define `sample(rng)` (a random
    problem), `read_instance(path, instance_id)` (an official one), `build(problem, instance_id)`
    (the `Instance`), `score` and `reference_solution`; `validate_config` only checks knobs."""

    source = "symbench"
    instance_file: ClassVar[str]
    config: SymBenchConfig

    def __init__(self, config: TaskConfig | None = None, **knobs: Any) -> None:
        super().__init__(config, **renamed_knobs(self.name, knobs))
        self.skipped: list[str] = []  # official instances dropped as data defects (see `open_instances`)
        path = self.config.instances
        self.official: OfficialInstances | None = self.open_instances(path) if path else self.default_instances()

    def open_instances(self, path: str) -> OfficialInstances:
        """The official instances under `path`; override to skip defective ones or read one file."""
        return InstanceDirectory(path, self.instance_file)

    def default_instances(self) -> OfficialInstances | None:
        """The instances served without `instances=`: None (generate them); data-backed tasks override."""
        return None

    def generate(self, seed: int) -> Instance:
        if self.official:
            instance_id, item = self.official.pick(seed)
            problem = self.read_instance(item, instance_id)
        else:
            instance_id, problem = generated_id(seed), self.sample(seeded_rng(seed, self.name))
        return self.build(problem, instance_id)

    def sample(self, rng: Random) -> Any:
        """A random problem drawn with `rng` from the config's knobs."""
        raise NotImplementedError

    def read_instance(self, item: Any, instance_id: str) -> Any:
        """The problem stored in an official instance: read from its file (`item` is the path that
        `InstanceDirectory` picks); by default the item itself, for data sets held in memory."""
        return item

    def build(self, problem: Any, instance_id: str) -> Instance:
        """The question, gold answer and metadata of `problem`."""
        raise NotImplementedError

    def num_questions(self) -> int | None:
        return len(self.official) if self.official else None

    def check_range(self, knob: str, low: int | None = None, high: int | None = None) -> None:
        """Raise `ValueError` unless `low <= min_<knob> <= max_<knob> <= high` (bounds optional)."""
        c = self.config
        lo, hi = getattr(c, f"min_{knob}"), getattr(c, f"max_{knob}")
        if (low is not None and lo < low) or lo > hi or (high is not None and hi > high):
            bounds = f"{low} <= " if low is not None else ""
            upper = f" <= {high}" if high is not None else ""
            raise ValueError(f"{self.name} needs {bounds}min_{knob} <= max_{knob}{upper}")


def solver_program(*functions: Callable[..., Any], comment: str = "", main: str) -> str:
    """A reference solution: `comment` (as `#` lines), the source of `functions`, then `main` (the
    code that prints the answer).

    The shipped functions run alone in the sandbox, so they import what they need inside their body
    and carry no type hints (the names in annotations would not be defined there)."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    return header + "\n\n".join(inspect.getsource(function) for function in functions) + f"\n\n{main}"


def exchange(start, methods):
    """The final amount of every item (dict item -> amount) from the starting amounts, going round
    the methods ([used, made] lists of [item, count] pairs) until a full round changes nothing: the
    round-robin procedure of StringSplitting and SynthesisDecomposition, shipped in their solvers."""
    stock = dict(start)
    for used, made in methods:
        for item, _ in used + made:
            stock.setdefault(item, 0)
    while True:
        changed = False
        for used, made in methods:
            if all(stock[item] >= n for item, n in used):
                for item, n in used:
                    stock[item] -= n
                for item, n in made:
                    stock[item] += n
                changed = True
        if not changed:
            return stock


@dataclass
class ThreeCountsConfig(SymBenchConfig):
    """Knobs of a task whose problem is three starting counts, each drawn from [min_count, max_count]."""

    min_count: int = 1
    max_count: int = 10


class ThreeCountsTask(SymBenchTask):
    """A SymBench task whose problem is three starting counts (StringSplitting, StringSynthesis)."""

    config: ThreeCountsConfig

    def validate_config(self) -> None:
        c = self.config
        if not 0 <= c.min_count <= c.max_count or c.max_count < 1:
            raise ValueError(f"{self.name} needs 0 <= min_count <= max_count and max_count >= 1")

    def sample(self, rng: Random) -> list[int]:
        c = self.config
        return [rng.randint(c.min_count, c.max_count) for _ in range(3)]
