"""MatrixTransformation: rotation, knobs, the cell-list checker (official data: test_task_contract.py)."""

from __future__ import annotations

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.matrix_transformation import CHARACTER_SETS, MatrixTransformation, rotate


def test_rotate():
    m = [["A", "B", "C"], ["D", "E", "F"]]
    assert rotate(m) == [["D", "A"], ["E", "B"], ["F", "C"]]
    assert rotate(m, 2) == [["F", "E", "D"], ["C", "B", "A"]]
    assert rotate(m, 3) == [["C", "F"], ["B", "E"], ["A", "D"]]
    assert rotate(m, 4) == m


def test_knobs_control_shape_charset_and_turns():
    task = MatrixTransformation(min_rows=3, max_rows=3, min_cols=5, max_cols=5, charsets=("symbols",), turns=2)
    for seed in range(20):
        instance = task.generate(seed)
        m = instance.metadata
        assert (m["rows"], m["cols"]) == (3, 5)
        assert all(cell in CHARACTER_SETS["symbols"] for row in m["matrix"] for cell in row)
        assert instance.gold == ",".join(cell for row in rotate(m["matrix"], 2) for cell in row)
        assert "180 degrees clockwise" in instance.question
    shapes = {(m["rows"], m["cols"]) for m in (MatrixTransformation().generate(s).metadata for s in range(200))}
    assert shapes == {(r, c) for r in range(2, 5) for c in range(2, 5)}


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one_and_a_transposed_answer_zero(seed):
    task = MatrixTransformation()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    cells = answer.split(",")
    transposed = [list(col) for col in zip(*instance.metadata["matrix"])]
    if cells != [c for row in transposed for c in row]:
        assert task.score(",".join(c for row in transposed for c in row), instance) == 0.0


INSTANCE = Instance("", "J,Q,H,R", "t", {"matrix": [["Q", "R"], ["J", "H"]], "turns": 1})


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("J,Q,H,R", 1.0),
        ("J, Q, H, R", 1.0),
        ("[[J, Q], [H, R]]", 1.0),
        ("['J', 'Q', 'H', 'R']", 1.0),
        ("J Q\nH R", 1.0),
        ("J,Q,R,H", 0.0),  # one pair swapped
        ("R,H,Q,J", 0.0),  # counter-clockwise
        ("Q,J,R,H", 0.0),
        ("J,Q,H", 0.0),
        ("JQHR", 0.0),
        ("j,q,h,r", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert MatrixTransformation().score(answer, INSTANCE) == expected
