"""EightQueens: generation knobs, the checker (placed queens kept), the solver, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.eight_queens import EightQueens, complete_queens

OFFICIAL = "symbench/eight_queens_dataset"
VARIANTS = {
    "symbench/eight_queens_dataset": 150,
    "symbench/eight_queens_dataset_2": 350,
    "symbench/eight_queens_dataset_hard": 20,
    "symbench/eight_queens_dataset_varied_complexity": 100,  # 10x10 boards
}
SOLUTION = [(0, 0), (1, 4), (2, 7), (3, 5), (4, 2), (5, 6), (6, 1), (7, 3)]
BOARD = Instance(question="", gold={"size": 8, "placed": [[1, 4]], "blocked": [[2, 4], [3, 7]]}, instance_id="t")


def text(queens) -> str:
    return ", ".join(f"{r} {c}" for r, c in queens)


def test_knobs_control_complexity_and_size():
    task = EightQueens(min_complexity=4, max_complexity=5)
    for seed in range(40):
        inst = task.generate(seed)
        gold = inst.gold
        assert 4 <= inst.metadata["complexity"] == min(1 + len(gold["placed"]) + len(gold["blocked"]) // 2, 5)
        assert len(gold["placed"]) <= 3 and len(gold["blocked"]) <= 4
        assert complete_queens(gold["placed"], gold["blocked"]) is not None
    easy = {EightQueens(max_complexity=1).generate(s).metadata["complexity"] for s in range(20)}
    assert easy == {1}
    six = EightQueens(size=6).generate(3)
    assert six.gold["size"] == 6 and len(six.question.split("\n\n")[1].splitlines()) == 6


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = EightQueens(min_complexity=3)
    inst = task.generate(seed)
    assert task.score(run_reference(task, inst), inst) == 1.0


def test_question_shows_the_board():
    inst = EightQueens(min_complexity=5).generate(0)
    rows = inst.question.split("\n\n")[1].splitlines()
    assert len(rows) == 8 and all(len(row) == 8 for row in rows)
    assert {(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "Q"} == {
        tuple(q) for q in inst.gold["placed"]
    }
    assert {(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "X"} == {
        tuple(b) for b in inst.gold["blocked"]
    }


@pytest.mark.parametrize(
    "answer, expected",
    [
        (text(SOLUTION), 1.0),
        (text(reversed(SOLUTION)), 1.0),
        ("[(0, 0), (1, 4), (2, 7), (3, 5), (4, 2), (5, 6), (6, 1), (7, 3)]", 1.0),
        ("[[0,0],[1,4],[2,7],[3,5],[4,2],[5,6],[6,1],[7,3]]", 1.0),
        (text(SOLUTION[:7]), 0.0),  # seven queens
        (text(SOLUTION + [(7, 3)]), 0.0),  # a queen listed twice
        (text(SOLUTION[:7] + [(7, 2)]), 0.0),  # (7, 2) attacks (6, 1) diagonally
        (text(SOLUTION[:7] + [(8, 3)]), 0.0),  # off the board
        ("0 0, 1 4, 2", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert EightQueens().score(answer, BOARD) == expected


def test_checker_requires_the_placed_queens():
    # A valid eight-queens solution that avoids the blocked cells but moves the placed queen at (1, 4).
    other = complete_queens([(1, 5)], [(2, 4), (3, 7)])
    assert other is not None and (1, 4) not in other
    assert EightQueens().score(text(other), BOARD) == 0.0
    free = Instance(question="", gold={"size": 8, "placed": [], "blocked": [[2, 4], [3, 7]]}, instance_id="t")
    assert EightQueens().score(text(other), free) == 1.0


def test_checker_rejects_a_blocked_cell():
    blocked = Instance(question="", gold={"size": 8, "placed": [], "blocked": [[7, 3]]}, instance_id="t")
    assert EightQueens().score(text(SOLUTION), blocked) == 0.0


@pytest.mark.parametrize("source, count", sorted(VARIANTS.items()))
def test_official_instances_gold_scores_one_and_perturbed_zero(data_dir, source, count):
    """Every official instance (all four CodeSteer variants): the stored solution scores 1.0;
    moving one queen one column sideways scores 0.0; the reference solver completes the board."""
    task = EightQueens(instances=source)
    assert task.num_questions() == count
    for seed in range(count):
        inst = task.generate(seed)
        data = json.loads((data_dir / source / inst.instance_id / "solution.json").read_text())
        solution = [tuple(q) for q in data["solution"]]
        assert task.score(text(solution), inst) == 1.0, inst.instance_id
        r, c = solution[-1]
        moved = solution[:-1] + [(r, c + 1 if c + 1 < inst.gold["size"] else c - 1)]
        assert task.score(text(moved), inst) == 0.0, inst.instance_id
        assert task.score(run_reference(task, inst), inst) == 1.0


def test_official_file_is_read_exactly(data_dir):
    task = EightQueens(instances=OFFICIAL)
    inst = task.generate(task.official.ids.index("sample_0"))
    assert inst.gold == {"size": 8, "placed": [], "blocked": [[2, 4], [3, 7]]}
