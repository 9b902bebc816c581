"""What a task is: a config dataclass of generator knobs, plus generate / score / reference_solution.

A task module defines a `TaskConfig` subclass and a `Task` subclass and ends with one
`register_task(...)` call; the task then appears in `gym.make("r1ci/<Name>-v0")`, `r1ci list`,
the suites and the benchmark.
"""
from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Instance:
    """One question. `gold` is whatever the checker needs (a target string, a goal state, ...);
    it must be JSON-serialisable so that transcripts can record it."""

    question: str
    gold: Any
    instance_id: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskConfig:
    """Generator knobs. Subclasses add fields with defaults; `gym.make(id, **knobs)` fills them."""


class Task(abc.ABC):
    """A family of questions with a checker and a reference solution.

    Subclasses set the class attributes and implement the three methods. `generate(seed)` must be
    deterministic: the same seed and config give the same instance.
    """

    name: ClassVar[str]
    source: ClassVar[str]  # "symbench", "bbh", "reasoning_gym" or "custom"
    category: ClassVar[str]  # "execution", "planning" or "reasoning" (CodeSteer's grouping)
    checker: ClassVar[str]  # "EM" (exact match) or "CK" (constraint checker); see TASKS.md
    config_class: ClassVar[type[TaskConfig]] = TaskConfig

    def __init__(self, config: TaskConfig | None = None, **knobs: Any) -> None:
        if config is None:
            valid = {f.name for f in dataclasses.fields(self.config_class)}
            unknown = sorted(set(knobs) - valid)
            if unknown:
                raise TypeError(
                    f"{self.name} has no generator setting {', '.join(map(repr, unknown))}; "
                    f"valid settings: {', '.join(sorted(valid)) or '(none)'}"
                )
            config = self.config_class(**knobs)
        elif knobs:
            config = dataclasses.replace(config, **knobs)
        self.config = config
        self.validate_config()

    def validate_config(self) -> None:
        """Raise `ValueError` for an impossible config. Called once at construction."""

    @abc.abstractmethod
    def generate(self, seed: int) -> Instance:
        """The instance for `seed` (deterministic)."""

    @abc.abstractmethod
    def score(self, answer: str, instance: Instance) -> float:
        """Reward in [0, 1] for the extracted final answer (the text inside `<<<...>>>`, stripped)."""

    @abc.abstractmethod
    def reference_solution(self, instance: Instance) -> str:
        """Python source that prints a correct answer (without the `<<<>>>` markers) when run."""

    def num_questions(self) -> int | None:
        """How many distinct questions exist, or None when the generator is unbounded."""
        return None

    def difficulty(self) -> dict[str, Any]:
        """The config as a plain dict, reported in `info["difficulty"]`."""
        return dataclasses.asdict(self.config)
