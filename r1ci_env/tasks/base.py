"""What a task is: a config dataclass of generator knobs, plus generate / score / reference_solution.

A task module defines a `TaskConfig` subclass and a `Task` subclass and ends with one
`register_task(...)` call; the task then appears in `gym.make("r1ci/<Name>-v0")`, `r1ci list`,
the suites and the benchmark.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .answers import normalise_answer


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
    deterministic: the same seed and config give the same instance. Every subclass's `score` is
    wrapped so that it sees the answer after the shared normalisation (`answers.normalise_answer`:
    `\\boxed{}`, "Answer:" and the like removed), which keeps that layer on every task's scoring path.
    """

    name: ClassVar[str]
    source: ClassVar[str]  # "symbench", "bbh", "reasoning_gym" or "custom"
    category: ClassVar[str]  # "execution", "planning" or "reasoning" (CodeSteer's grouping)
    checker: ClassVar[str]  # "EM" (exact match) or "CK" (constraint checker); see TASKS.md
    config_class: ClassVar[type[TaskConfig]] = TaskConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("score")
        if own is not None and not getattr(own, "__isabstractmethod__", False):
            cls.score = _normalising(own)  # type: ignore[method-assign]

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
        """Reward in [0, 1] for the extracted final answer (the text inside `<<<...>>>`, after
        `answers.normalise_answer`)."""

    @abc.abstractmethod
    def reference_solution(self, instance: Instance) -> str:
        """Python source that prints a correct answer (without the `<<<>>>` markers) when run."""

    def num_questions(self) -> int | None:
        """How many distinct questions exist, or None when the generator is unbounded."""
        return None

    def difficulty(self) -> dict[str, Any]:
        """The config as a plain dict, reported in `info["difficulty"]`."""
        return dataclasses.asdict(self.config)


def _normalising(score: Any) -> Any:
    """`score` with the shared answer normalisation applied to its answer first (see `Task`). An
    answer that fails after normalisation is also scored as written, so that the layer only adds
    readings (a grid of symbols may start and end with `$`)."""
    if getattr(score, "__wrapped__", None) is not None:
        return score

    @functools.wraps(score)
    def wrapper(self: Task, answer: str, instance: Instance) -> float:
        normalised = normalise_answer(answer)
        reward = score(self, normalised, instance)
        if reward < 1.0 and normalised != answer.strip():  # the wrapper may belong to the answer ("$,#,$")
            reward = max(reward, score(self, answer, instance))
        return reward

    return wrapper
