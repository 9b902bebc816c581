"""LightPuzzles: generation knobs, the toggling simulation, the grid checker (official data: test_task_contract.py)."""

from __future__ import annotations

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.light_puzzles import LightPuzzles, press_buttons

GRID = [[1, 0], [0, 0]]
BUTTONS = {"A": [[1, 1], [2, 2]], "B": [[2, 2], [1, 2]]}


def inst(presses: list[str]) -> Instance:
    final = press_buttons(GRID, BUTTONS, presses)
    return Instance(
        question="",
        gold=[v for row in final for v in row],
        instance_id="t",
        metadata={"grid": GRID, "buttons": BUTTONS, "presses": presses, "size": 2},
    )


def test_press_buttons_toggles_and_leaves_input_alone():
    assert press_buttons(GRID, BUTTONS, ["A"]) == [[0, 0], [0, 1]]
    assert press_buttons(GRID, BUTTONS, ["A", "B"]) == [[0, 1], [0, 0]]
    assert press_buttons(GRID, BUTTONS, ["B", "B"]) == GRID
    assert GRID == [[1, 0], [0, 0]]


def test_knobs_control_size_buttons_and_presses():
    task = LightPuzzles(min_size=6, max_size=6, min_buttons=5, max_buttons=5, min_presses=7, max_presses=8)
    for seed in range(20):
        m = task.generate(seed).metadata
        assert m["size"] == 6 and list(m["buttons"]) == list("ABCDE") and 7 <= len(m["presses"]) <= 8
        for cells in m["buttons"].values():
            assert 2 <= len(cells) <= 18 and len({tuple(c) for c in cells}) == len(cells)
            assert all(1 <= r <= 6 and 1 <= c <= 6 for r, c in cells)


def test_question_lists_grid_buttons_and_presses():
    instance = LightPuzzles().generate(2)
    m = instance.metadata
    assert "\n".join("".join(map(str, row)) for row in m["grid"]) in instance.question
    for name, cells in m["buttons"].items():
        assert f"Button {name}: " + ", ".join(f"({r}, {c})" for r, c in cells) in instance.question
    assert f"Press {len(m['presses'])}: button {m['presses'][-1]}" in instance.question


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one_and_one_flipped_light_zero(seed):
    task = LightPuzzles()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    cells = answer.split(",")
    cells[seed % len(cells)] = "1" if cells[seed % len(cells)] == "0" else "0"
    assert task.score(",".join(cells), instance) == 0.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("0,1,0,0", 1.0),
        (" [0, 1, 0, 0] ", 1.0),
        ("0 1\n0 0", 1.0),
        ("01\n00", 1.0),  # rows as digit strings
        ("01,00", 1.0),
        ("0,1,0,1", 0.0),
        ("0,0,0,1", 0.0),  # the state after A alone
        ("0,1,0", 0.0),
        ("0,1,0,0,0", 0.0),
        ("0,1,0,2", 0.0),
        ("0100", 0.0),  # one string for the whole grid is not a row per line
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert LightPuzzles().score(answer, inst(["A", "B"])) == expected
