"""BoxNet: generation knobs, the simultaneous-step simulator, the greedy planner, official data."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.boxnet import BoxNet, plan_boxnet

OFFICIAL = "symbench/BoxNet1_dataset"
# 2 x 2 field: a red box next to its target, a blue box already on its target.
GRID = Instance(
    question="",
    gold={
        "rows": 2,
        "cols": 2,
        "cells": {
            "0.5_0.5": ["box_red", "box_blue", "target_blue"],
            "0.5_1.5": [],
            "1.5_0.5": ["target_red"],
            "1.5_1.5": [],
        },
    },
    instance_id="t",
)
PUSH = '"Agent[0.5, 0.5]": "move(box_red, square[1.5, 0.5])"'
DROP_BLUE = '"Agent[0.5, 0.5]": "move(box_blue, target_blue)"'
DROP_RED = '"Agent[1.5, 0.5]": "move(box_red, target_red)"'


def test_knobs_control_shape_colours_and_counts():
    task = BoxNet(shapes=((3, 3),), colors=("red", "cyan"), min_boxes_per_color=4, max_boxes_per_color=4)
    for seed in range(20):
        inst = task.generate(seed)
        cells = inst.gold["cells"]
        assert (inst.gold["rows"], inst.gold["cols"]) == (3, 3) and len(cells) == 9
        items = Counter(item for items in cells.values() for item in items)
        assert items == {"box_red": 4, "target_red": 4, "box_cyan": 4, "target_cyan": 4}
        assert "square[2.5, 2.5]" in inst.question
    shapes = {(g["rows"], g["cols"]) for g in (BoxNet().generate(s).gold for s in range(30))}
    assert shapes == {(1, 2), (2, 2), (2, 4)}


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = BoxNet(shapes=((2, 4), (3, 3)))
    inst = task.generate(seed)
    answer = run_reference(task, inst)
    assert task.score(answer, inst) == 1.0
    assert task.score(json.dumps(json.loads(answer)[:-1]), inst) == 0.0  # a box left over


@pytest.mark.parametrize(
    "answer, expected",
    [
        (f"[{{{PUSH}}}]", 0.0),  # red pushed but never dropped, blue never dropped
        (f"[{{{PUSH}}}, {{{DROP_RED}, {DROP_BLUE}}}]", 1.0),
        (f"[{{{DROP_BLUE}}}, {{{PUSH}}}, {{{DROP_RED}}}]", 1.0),
        (f"[{{{DROP_BLUE}}}, {{}}, {{{PUSH}}}, {{{DROP_RED}}}]", 1.0),  # an idle step is fine
        (
            "[{'Agent[0.5,0.5]': 'move(box_red, square(1.5,0.5))'}, {'agent[1.5, 0.5]': 'move(box_red, target_red)',"
            " 'Agent[0.5, 0.5]': 'move( box_blue , target_blue )'}]",
            1.0,
        ),  # Python quoting, spacing
        (f"[{{{PUSH}, {DROP_RED}}}, {{{DROP_BLUE}}}]", 0.0),  # red used in the square it arrives at, same step
        (f"[{{{PUSH}, {DROP_BLUE}}}, {{{DROP_RED}}}]", 0.0),  # one agent, two actions (repeated key)
        (f'[{{{DROP_BLUE}}}, {{"Agent[0.5, 0.5]": "move(box_red, square[1.5, 1.5])"}}]', 0.0),  # diagonal
        (f'[{{{DROP_BLUE}}}, {{"Agent[0.5, 0.5]": "move(box_red, target_red)"}}]', 0.0),  # no red target here
        (f'[{{{DROP_BLUE}}}, {{"Agent[0.5, 1.5]": "move(box_red, square[1.5, 1.5])"}}]', 0.0),  # not its box
        (f'[{{{DROP_BLUE}}}, {{"Agent[2.5, 0.5]": "move(box_red, target_red)"}}]', 0.0),  # no such agent
        (f'[{{{DROP_BLUE}}}, {{"Agent[0.5, 0.5]": "move(box_blue, target_red)"}}]', 0.0),  # colour mismatch
        (f"[{{{DROP_BLUE}}}, {{{DROP_BLUE}}}]", 0.0),  # the blue box is gone
        (f"{{{PUSH}}}", 0.0),  # a single step without the list: red not yet dropped
        (f"[{{{PUSH}}}, {{{DROP_RED}, {DROP_BLUE}}}", 0.0),  # unterminated JSON
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert BoxNet().score(answer, GRID) == expected


def test_single_step_without_list_is_read():
    inst = Instance(
        question="",
        gold={"rows": 1, "cols": 2, "cells": {"0.5_0.5": ["box_red", "target_red"], "0.5_1.5": []}},
        instance_id="t",
    )
    assert BoxNet().score('{"Agent[0.5, 0.5]": "move(box_red, target_red)"}', inst) == 1.0


@pytest.mark.parametrize("source, count", [(OFFICIAL, 50), ("symbench/BoxNet1_dataset_SFT", 150)])
def test_official_instances(data_dir, source, count):
    """The official grids store no solution: every one loads with balanced boxes and targets, the
    greedy plan clears it (1.0), and the same plan without its last step leaves a box (0.0)."""
    task = BoxNet(instances=source)
    assert task.num_questions() == count
    for seed in range(count):
        inst = task.generate(seed)
        folder = data_dir / source / inst.instance_id
        data = json.loads((folder / f"{folder.name}.json").read_text())
        assert inst.gold["cells"] == data
        items = Counter(item for items in data.values() for item in items)
        assert all(items[f"target_{i[4:]}"] == n for i, n in items.items() if i.startswith("box_"))
        plan = plan_boxnet(inst.gold["rows"], inst.gold["cols"], inst.gold["cells"])
        assert task.score(json.dumps(plan), inst) == 1.0, inst.instance_id
        assert task.score(json.dumps(plan[:-1]), inst) == 0.0, inst.instance_id
    assert task.score(run_reference(task, inst), inst) == 1.0
