"""PathPlan: generation knobs, the exact geometric checker (walls, enter/avoid, order), the planner.

There is no official data directory: CodeSteer's 140 instances are hard-coded in its benchmark
script, so there is no `instances=` test for this task."""

from __future__ import annotations

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance, make_task
from r1ci_env.tasks.path_plan import WALLS, PathPlan, parse_waypoints

BOXES = {"red": [0.0, 0.4, 0.0, 0.4], "blue": [-0.8, -0.4, -0.8, -0.4], "green": [0.6, 1.0, -1.0, -0.6]}


def room(enter, avoid=(), ordered=False) -> Instance:
    gold = {
        "walls": [list(w) for w in WALLS],
        "boxes": BOXES,
        "start": [-1.3, -1.3],
        "end": [1.3, 1.3],
        "enter": list(enter),
        "ordered": ordered,
        "avoid": list(avoid),
    }
    return Instance(question="", gold=gold, instance_id="t")


AROUND_BLUE = "[(-1.3, -1.3), (-1.3, 0.2), (0.2, 0.2), (1.3, 1.3)]"  # through red, clear of blue and green
RED_THEN_GREEN = "[(-1.3, -1.3), (-1.3, 0.2), (0.2, 0.2), (0.8, -0.8), (1.3, 1.3)]"
GREEN_THEN_RED = "[(-1.3, -1.3), (0.8, -1.3), (0.8, -0.8), (0.2, 0.2), (1.3, 1.3)]"


def test_no_official_data_knob():
    assert not hasattr(make_task("PathPlan").config, "source")


@pytest.mark.parametrize(
    "answer, enter, avoid, ordered, expected",
    [
        (AROUND_BLUE, ["red"], ["blue"], False, 1.0),
        ("[[-1.30, -1.3], [-1.3, 0.2], [0.2, 0.20], [1.3, 1.3]]", ["red"], ["blue"], False, 1.0),
        ("(-1.3, -1.3) (-1.3, 0.2) (0.2, 0.2) (1.3, 1.3)", ["red"], ["blue"], False, 1.0),
        ("[(-1.3, -1.3), (1.3, 1.3)]", ["red"], ["blue"], False, 0.0),  # the diagonal crosses blue
        ("[(-1.3, -1.3), (1.3, 1.3)]", ["red", "blue"], [], False, 1.0),
        (AROUND_BLUE, ["red", "green"], [], False, 0.0),  # green never entered
        # touching counts: running along blue's top edge, or through its corner (-0.4, -0.4)
        (
            "[(-1.3, -1.3), (-1.3, -0.4), (-0.6, -0.4), (-0.6, 0.2), (0.2, 0.2), (1.3, 1.3)]",
            ["red"],
            ["blue"],
            False,
            0.0,
        ),
        ("[(-1.3, -1.3), (-1.3, 0.5), (0.5, -1.3), (1.3, -1.3), (1.3, 1.3)]", [], ["blue"], False, 0.0),
        ("[(-1.3, -1.3), (-1.3, 0.5), (0.5, -1.3), (1.3, -1.3), (1.3, 1.3)]", ["blue"], [], False, 1.0),
        # the line x + y = 0 touches red only at its corner (0, 0) and crosses green; x + y = -0.1 misses red
        ("[(-1.3, -1.3), (-1.2, 1.2), (1.2, -1.2), (1.3, 1.3)]", ["red", "green"], [], False, 1.0),
        ("[(-1.3, -1.3), (-1.2, 1.2), (1.2, -1.2), (1.3, 1.3)]", ["green"], ["red"], False, 0.0),
        ("[(-1.3, -1.3), (-1.25, 1.15), (1.15, -1.25), (1.3, 1.3)]", ["red"], [], False, 0.0),
        ("[(-1.3, -1.3), (-1.25, 1.15), (1.15, -1.25), (1.3, 1.3)]", ["green"], ["red", "blue"], False, 1.0),
        # order
        (RED_THEN_GREEN, ["red", "green"], [], True, 1.0),
        (RED_THEN_GREEN, ["green", "red"], [], True, 0.0),
        (GREEN_THEN_RED, ["green", "red"], [], True, 1.0),
        (GREEN_THEN_RED, ["red", "green"], [], True, 0.0),
        (GREEN_THEN_RED, ["red", "green"], [], False, 1.0),
        # walls, start and end
        ("[(-1.3, -1.3), (-1.4, 0.2), (0.2, 0.2), (1.3, 1.3)]", ["red"], [], False, 0.0),  # touches a wall
        ("[(-1.3, -1.3), (-2.0, 0.2), (0.2, 0.2), (1.3, 1.3)]", ["red"], [], False, 0.0),  # leaves the room
        ("[(-1.3, -1.29), (-1.3, 0.2), (0.2, 0.2), (1.3, 1.3)]", ["red"], [], False, 0.0),
        ("[(-1.3, -1.3), (-1.3, 0.2), (0.2, 0.2)]", ["red"], [], False, 0.0),
        ("[(-1.3, -1.3)]", [], [], False, 0.0),
        ("[(-1.3, -1.3), (a, 0.2), (1.3, 1.3)]", ["red"], [], False, 0.0),
        ("", ["red"], [], False, 0.0),
    ],
)
def test_checker(answer, enter, avoid, ordered, expected):
    assert PathPlan().score(answer, room(enter, avoid, ordered)) == expected


def test_waypoints_are_exact_decimals():
    points = parse_waypoints("[(0.1, -.5), (+2, 3.)]")
    assert [(str(x), str(y)) for x, y in points] == [("1/10", "-1/2"), ("2", "3")]
    assert parse_waypoints("[(1, 2), (3)]") is None


def test_knobs_control_boxes_and_instruction():
    task = PathPlan(num_boxes=4, min_enter=2, max_enter=2, min_avoid=2, max_avoid=2, ordered_probability=1.0)
    for seed in range(15):
        gold = task.generate(seed).gold
        assert len(gold["boxes"]) == 4 and len(gold["enter"]) == 2 and len(gold["avoid"]) == 2 and gold["ordered"]
        assert not set(gold["enter"]) & set(gold["avoid"])
    unordered = PathPlan(min_enter=3, ordered_probability=0.0).generate(1)
    assert not unordered.gold["ordered"] and "in any order" in unordered.question


def test_generated_layout_is_sound():
    task = PathPlan()
    for seed in range(30):
        gold = task.generate(seed).gold
        boxes = list(gold["boxes"].values())
        assert len(boxes) == 7
        for i, a in enumerate(boxes):
            assert -1.3 <= a[0] < a[1] <= 1.3 and -1.3 <= a[2] < a[3] <= 1.3
            for b in boxes[i + 1 :]:  # at least 0.1 apart
                assert (
                    a[1] + 0.1 <= b[0] + 1e-9
                    or b[1] + 0.1 <= a[0] + 1e-9
                    or a[3] + 0.1 <= b[2] + 1e-9
                    or b[3] + 0.1 <= a[2] + 1e-9
                )
        for x, y in (gold["start"], gold["end"]):
            assert -1.4 < x < 1.4 and -1.4 < y < 1.4
            assert not any(b[0] <= x <= b[1] and b[2] <= y <= b[3] for b in boxes)


@pytest.mark.parametrize("seed", range(8))
def test_reference_solution_scores_one_and_perturbations_zero(seed):
    task = PathPlan(min_avoid=1)
    inst = task.generate(seed)
    answer = run_reference(task, inst)
    assert task.score(answer, inst) == 1.0
    points = parse_waypoints(answer)
    text = lambda pts: "[" + ", ".join(f"({float(x)}, {float(y)})" for x, y in pts) + "]"  # noqa: E731
    box = inst.gold["boxes"][inst.gold["avoid"][0]]
    centre = ((box[0] + box[1]) / 2, (box[2] + box[3]) / 2)
    assert task.score(text(points[:1] + [centre] + points[1:]), inst) == 0.0  # detour through a box to avoid
    assert task.score(text(points[::-1]), inst) == 0.0  # start and end swapped
