"""BoxLift (SymBench): assign lifters (alone or together) to boxes, step by step, so that every box is
lifted within a step budget.

In a step every lifter works on at most one box; a box can be lifted by several lifters whose
capacities add up to at least its weight. The budget is CodeSteer's greedy estimate, written into the
question: boxes heaviest first, each taking the first free lifters (in index order) until their
capacities cover it, boxes that the free lifters cannot cover waiting for the next step. Generated
like CodeSteer's data set (uniform weights and capacities per size configuration); `instances=<dir>`
serves CodeSteer's instances (`BoxLift_dataset/BoxLift_<boxes>_<lifters>/BoxLift<i>/BoxLift.json`
with `boxes` and `lifters`; there is no stored solution, the budget is computed).

Checking rules and the CodeSteer defects fixed: the answer is lines `Step k: [(weight, [lifter
indices]), ...]`; any plan that lifts every box within the budget scores 1.0. CodeSteer skips an
invalid assignment (a weight that is not left, a reused lifter, too little capacity) and carries on,
and reads lifter index -1 as the last lifter; here any invalid assignment, a negative or repeated
index, or more steps than the budget makes the whole plan fail. Assignments are read as Python
literals (never evaluated as code); step numbers are not checked.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

MAX_ANSWER_LENGTH = 100_000
_STEP = re.compile(r"step\s*\d+\s*:", re.IGNORECASE)

# (boxes, lifters, lightest box, heaviest box, weakest lifter, strongest lifter)
CODESTEER_TEST_CONFIGS = (
    (10, 3, 10, 100, 40, 80),
    (15, 4, 20, 200, 30, 120),
    (20, 5, 30, 300, 40, 160),
    (25, 6, 40, 400, 50, 200),
)


@dataclass
class BoxLiftConfig(SymBenchConfig):
    """Generator knobs. Each instance picks one configuration uniformly and draws the box weights and
    lifter capacities uniformly from its ranges, drawing again if some box is heavier than all
    lifters together.

    configs: tuples (boxes, lifters, min box weight, max box weight, min lifter capacity, max lifter
        capacity); the default is CodeSteer's four test configurations (10 boxes/3 lifters up to 25
        boxes/6 lifters). Its training set adds (10,4,...), (15,5,...), (16,5,...), (20,6,...),
        (21,6,...) and (25,7,...) with the same ranges per box count.
    instances: official instances (`<dir>/.../BoxLift.json`, e.g.
        `symbench/BoxLift_dataset`).
    """

    configs: tuple[tuple[int, int, int, int, int, int], ...] = CODESTEER_TEST_CONFIGS


class BoxLift(SymBenchTask):
    name = "BoxLift"
    category = "planning"
    checker = "CK"
    config_class = BoxLiftConfig
    config: BoxLiftConfig
    instance_file = "BoxLift.json"

    def validate_config(self) -> None:
        c = self.config
        if not c.configs:
            raise ValueError("BoxLift needs at least one configuration")
        for config in c.configs:
            if len(config) != 6:
                raise ValueError("BoxLift configurations are (boxes, lifters, min_w, max_w, min_cap, max_cap)")
            boxes, lifters, min_w, max_w, min_cap, max_cap = config
            if boxes < 1 or lifters < 1 or not 1 <= min_w <= max_w or not 1 <= min_cap <= max_cap:
                raise ValueError(f"BoxLift: invalid configuration {config}")
            if max_cap * lifters < min_w:
                raise ValueError(f"BoxLift: in {config} no box can ever be lifted")

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[int], list[int]]:
        data = json.loads(path.read_text())
        boxes, lifters = data.get("boxes"), data.get("lifters")
        if (
            not isinstance(boxes, list)
            or not isinstance(lifters, list)
            or not boxes
            or not lifters
            or not all(type(v) is int and v > 0 for v in boxes + lifters)
        ):
            raise ValueError(f"{path}: expected positive integer lists `boxes` and `lifters`")
        if max(boxes) > sum(lifters):
            raise ValueError(f"{path}: a box is heavier than all lifters together")
        return boxes, lifters

    def build(self, problem: tuple[list[int], list[int]], instance_id: str) -> Instance:
        boxes, lifters = problem
        bound = len(greedy_lift_plan(boxes, lifters))
        return Instance(
            question=_question(boxes, lifters, bound),
            gold={"boxes": boxes, "lifters": lifters, "max_steps": bound},
            instance_id=instance_id,
            metadata={"num_boxes": len(boxes), "num_lifters": len(lifters), "max_steps": bound},
        )

    def sample(self, rng: Random) -> tuple[list[int], list[int]]:
        num_boxes, num_lifters, min_w, max_w, min_cap, max_cap = rng.choice(list(self.config.configs))
        while True:
            boxes = [rng.randint(min_w, max_w) for _ in range(num_boxes)]
            lifters = [rng.randint(min_cap, max_cap) for _ in range(num_lifters)]
            if max(boxes) <= sum(lifters):
                return boxes, lifters

    def score(self, answer: str, instance: Instance) -> float:
        gold = instance.gold
        return 1.0 if plan_lifts_all(answer, gold["boxes"], gold["lifters"], gold["max_steps"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        gold = instance.gold
        return solver_program(
            greedy_lift_plan,
            comment="Greedy: each step, heaviest boxes first, each taking the first free lifters that cover it.",
            main=f"plan = greedy_lift_plan({gold['boxes']!r}, {gold['lifters']!r})\n"
            + "for k, step in enumerate(plan, 1):\n"
            + "    print(f'Step {k}: {step}')\n",
        )


def greedy_lift_plan(boxes, lifters):
    """A plan as a list of steps, each a list of (box weight, [lifter indices]). Every step goes
    through the remaining boxes from heaviest to lightest; a box whose weight the still-free lifters
    can cover together takes free lifters in index order until their capacities reach its weight,
    otherwise it waits. Needs every box to weigh at most the sum of all capacities."""
    if boxes and max(boxes) > sum(lifters):
        raise ValueError("a box is heavier than all lifters together")
    remaining = sorted(boxes, reverse=True)
    plan = []
    while remaining:
        free = list(range(len(lifters)))
        step, waiting = [], []
        for weight in remaining:
            if free and sum(lifters[i] for i in free) >= weight:
                team, strength = [], 0
                while strength < weight:
                    team.append(free.pop(0))
                    strength += lifters[team[-1]]
                step.append((weight, team))
            else:
                waiting.append(weight)
        plan.append(step)
        remaining = waiting
    return plan


def parse_plan(answer: str) -> list[list[tuple[int, list[int]]]] | None:
    """The steps of `Step 1: [(w, [i, ...]), ...]\\nStep 2: ...`, or None when malformed."""
    if len(answer) > MAX_ANSWER_LENGTH:
        return None
    markers = list(_STEP.finditer(answer))
    if not markers or answer[: markers[0].start()].strip():
        return None
    steps = []
    for marker, following in zip(markers, markers[1:] + [None]):
        body = answer[marker.end() : following.start() if following else len(answer)].strip().rstrip(",;")
        try:
            value = ast.literal_eval(body) if body else []
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        if isinstance(value, tuple) and len(value) == 2 and type(value[0]) is int:
            value = [value]  # a step holding a single assignment written without the list brackets
        if not isinstance(value, (list, tuple)):
            return None
        step = []
        for item in value:
            if not isinstance(item, (list, tuple)) or len(item) != 2 or type(item[0]) is not int:
                return None
            weight, team = item
            if not isinstance(team, (list, tuple)) or not all(type(i) is int for i in team):
                return None
            step.append((weight, list(team)))
        steps.append(step)
    return steps


def plan_lifts_all(answer: str, boxes: list[int], lifters: list[int], max_steps: int) -> bool:
    """True iff the plan has at most `max_steps` steps, every assignment is valid (a remaining box
    weight, at least one lifter, valid distinct indices not used elsewhere in the step, enough
    capacity), and every box is lifted."""
    steps = parse_plan(answer)
    if steps is None or len(steps) > max_steps:
        return False
    remaining = Counter(boxes)
    for step in steps:
        busy: set[int] = set()
        for weight, team in step:
            if remaining[weight] <= 0 or not team or len(set(team)) != len(team):
                return False
            if any(not 0 <= i < len(lifters) or i in busy for i in team):
                return False
            if sum(lifters[i] for i in team) < weight:
                return False
            busy.update(team)
            remaining[weight] -= 1
    return sum(remaining.values()) == 0


def _question(boxes: list[int], lifters: list[int], bound: int) -> str:
    lifter_list = ", ".join(f"lifter {i}: {cap}" for i, cap in enumerate(lifters))
    return (
        f"Boxes to lift (weights): {boxes}\n"
        f"Lifters (index: maximum capacity): {lifter_list}\n\n"
        "Lift all the boxes in a sequence of steps. In one step several boxes can be lifted, but each "
        "lifter works on at most one box. A box may be lifted by one lifter or by several lifters "
        "together, provided their capacities add up to at least the box's weight. Each box is lifted "
        f"exactly once. Use at most {bound} steps (fewer is fine).\n\n"
        "Give the final answer inside <<< and >>>, one line per step, each step a list of (box weight, "
        "[lifter indices]) pairs, for example\n"
        "<<<Step 1: [(50, [0, 2]), (30, [1])]\nStep 2: [(45, [0, 1])]>>>\n"
        "which lifts a box of 50 with lifters 0 and 2 and a box of 30 with lifter 1 in the first step, "
        "then a box of 45 with lifters 0 and 1."
    )


register_task(BoxLift)
