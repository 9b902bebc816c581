"""BoxLift: generation knobs, the greedy step budget, the plan simulator, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.boxlift import CODESTEER_TEST_CONFIGS, BoxLift, greedy_lift_plan

OFFICIAL = "symbench/BoxLift_dataset"
# Boxes 90, 60, 40, 30; lifters 50, 45, 35. Greedy: step 1 lifts 90 with lifters 0 and 1, and of the
# rest only 30 fits lifter 2; step 2 lifts 60 with 0 and 1 (40 > 35 waits); step 3 lifts 40: 3 steps.
INSTANCE = Instance(
    question="", gold={"boxes": [90, 60, 40, 30], "lifters": [50, 45, 35], "max_steps": 3}, instance_id="t"
)


def plan_text(plan) -> str:
    return "\n".join(f"Step {k}: {step}" for k, step in enumerate(plan, 1))


def test_greedy_plan_and_budget():
    plan = greedy_lift_plan([90, 60, 40, 30], [50, 45, 35])
    assert plan == [[(90, [0, 1]), (30, [2])], [(60, [0, 1])], [(40, [0])]]
    with pytest.raises(ValueError):
        greedy_lift_plan([200], [50, 60])


def test_knobs_control_sizes_and_ranges():
    task = BoxLift(configs=((7, 2, 5, 9, 20, 30),))
    for seed in range(20):
        inst = task.generate(seed)
        gold = inst.gold
        assert len(gold["boxes"]) == 7 and all(5 <= b <= 9 for b in gold["boxes"])
        assert len(gold["lifters"]) == 2 and all(20 <= c <= 30 for c in gold["lifters"])
        assert gold["max_steps"] == len(greedy_lift_plan(gold["boxes"], gold["lifters"]))
        assert f"at most {gold['max_steps']} steps" in inst.question
    sizes = {(len(g["boxes"]), len(g["lifters"])) for g in (BoxLift().generate(s).gold for s in range(40))}
    assert sizes == {(c[0], c[1]) for c in CODESTEER_TEST_CONFIGS}


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = BoxLift()
    inst = task.generate(seed)
    answer = run_reference(task, inst)
    assert task.score(answer, inst) == 1.0
    assert task.score("\n".join(answer.splitlines()[:-1]), inst) == 0.0  # last step dropped


GOOD = "Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 1])]\nStep 3: [(40, [0])]"


@pytest.mark.parametrize(
    "answer, expected",
    [
        (GOOD, 1.0),
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [1, 2]), (40, [0])]", 1.0),  # 2 steps
        ("Step 1: [(90, [0, 1]), (40, [2])]\nStep 2: [(60, [0, 2]), (30, [1])]", 0.0),  # lifter 2: 35 < 40
        ("step 1: [(90, (1, 0)), (30, [2])] \n\n Step 2: [(60, [0, 1])]; Step 3: [(40, [2, 0])]", 1.0),
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 1])]\nStep 3: (40, [0])", 1.0),
        ("Step 1: [(90, [0, 1])]\nStep 2: [(60, [0, 1]), (30, [2])]\nStep 3: [(40, [0])]", 1.0),
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 1])]\nStep 3: []\nStep 4: [(40, [0])]", 0.0),  # 4 > 3
        ("Step 1: [(90, [0, 1]), (30, [1])]\nStep 2: [(60, [0, 1])]\nStep 3: [(40, [0])]", 0.0),  # lifter 1 twice
        ("Step 1: [(90, [0, 2]), (30, [1])]\nStep 2: [(60, [0, 1])]\nStep 3: [(40, [0])]", 0.0),  # 85 < 90
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, -1])]\nStep 3: [(40, [0])]", 0.0),  # index -1
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 3])]\nStep 3: [(40, [0])]", 0.0),  # index 3
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 1])]\nStep 3: [(30, [0])]", 0.0),  # 30 twice, 40 left
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 1])]\nStep 3: [(40, [])]", 0.0),  # no lifter
        ("Step 1: [(90, [0, 0, 1])]\nStep 2: [(60, [0, 1]), (30, [2])]\nStep 3: [(40, [0])]", 0.0),  # repeated index
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: [(60, [0, 1])]", 0.0),  # 40 never lifted
        ("Lift: " + GOOD, 0.0),
        ("Step 1: [(90, [0, 1]), (30, [2])]\nStep 2: __import__('os')", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert BoxLift().score(answer, INSTANCE) == expected


@pytest.mark.parametrize("source, count", [(OFFICIAL, 40), ("symbench/BoxLift_dataset_SFT", 200)])
def test_official_instances(data_dir, source, count):
    """The official instances store no solution: every one loads, its budget is the greedy
    estimate, the greedy plan scores 1.0, and the same plan without its last step, or with one
    extra empty step (over budget), scores 0.0."""
    task = BoxLift(instances=source)
    assert task.num_questions() == count
    for seed in range(count):
        inst = task.generate(seed)
        data = json.loads((data_dir / source / inst.instance_id / "BoxLift.json").read_text())
        assert (inst.gold["boxes"], inst.gold["lifters"]) == (data["boxes"], data["lifters"])
        plan = greedy_lift_plan(data["boxes"], data["lifters"])
        assert inst.gold["max_steps"] == len(plan)
        assert task.score(plan_text(plan), inst) == 1.0
        assert task.score(plan_text(plan[:-1]), inst) == 0.0
        assert task.score(plan_text(plan + [[]]), inst) == 0.0
    assert task.score(run_reference(task, inst), inst) == 1.0
