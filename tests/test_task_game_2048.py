"""Game2048: the one-tile move rules, knobs, the grid checker, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.game_2048 import Game2048, move_tile

OFFICIAL = "symbench/2048_dataset"


@pytest.mark.parametrize(
    "grid, start, moves, expected",
    [
        ([[0, 16], [4, 2]], [0, 1], "dl", [[16, 0], [4, 2]]),  # d is blocked by the 2, l slides (official sample_0)
        ([[2, 2, 4], [0, 0, 0], [0, 0, 0]], [0, 0], "rr", [[0, 0, 8], [0, 0, 0], [0, 0, 0]]),  # merges keep going
        ([[2, 4], [0, 0]], [0, 0], "ruu", [[2, 4], [0, 0]]),  # blocked and off the grid: no move
        ([[0, 4], [0, 2]], [0, 0], "rd", [[0, 4], [0, 2]]),  # empty start: nothing moves
        ([[8, 0], [0, 0]], [0, 0], "drul", [[8, 0], [0, 0]]),  # round trip
    ],
)
def test_move_tile(grid, start, moves, expected):
    before = [row[:] for row in grid]
    assert move_tile(grid, start, moves) == expected
    assert grid == before


def test_knobs_control_size_moves_tiles_and_start():
    task = Game2048(min_size=4, max_size=4, min_moves=7, max_moves=7, min_tiles=10, max_tiles=12, max_power=2)
    for seed in range(30):
        m = task.generate(seed).metadata
        values = [v for row in m["grid"] for v in row]
        assert m["size"] == 4 and len(m["moves"]) == 7 and set(m["moves"]) <= set("udlr")
        assert 10 <= sum(v > 0 for v in values) <= 12 and set(values) <= {0, 2, 4}
        assert m["grid"][m["start"][0]][m["start"][1]] > 0  # start_on_tile
    anywhere = [Game2048(start_on_tile=False, allow_no_op=True).generate(s).metadata for s in range(50)]
    assert any(m["grid"][m["start"][0]][m["start"][1]] == 0 for m in anywhere)


def test_echoing_the_input_grid_never_earns_a_reward_on_generated_puzzles():
    for task in (Game2048(), Game2048(start_on_tile=False)):
        for seed in range(200):
            instance = task.generate(seed)
            assert not instance.metadata["no_op"]
            echo = "\n".join(", ".join(map(str, row)) for row in instance.metadata["grid"])
            assert task.score(echo, instance) == 0.0
    kept = [Game2048(allow_no_op=True).generate(s).metadata["no_op"] for s in range(200)]
    assert 0 < sum(kept) < 200  # CodeSteer-like puzzles do include no-ops


def test_official_no_op_items_are_labelled(data_dir):
    task = Game2048(instances="symbench/2048_dataset")
    assert sum(task.generate(seed).metadata["no_op"] for seed in range(200)) == 147
    default = Game2048()
    for seed in range(50):
        m = default.generate(seed).metadata
        n = m["size"]
        assert 2 <= n <= 5 and 2 <= len(m["moves"]) <= 6
        assert n <= sum(v > 0 for row in m["grid"] for v in row) <= min(2 * n, n * n)


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one_and_one_changed_cell_zero(seed):
    task = Game2048()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    values = answer.replace("\n", ",").split(",")
    values[0] = str(int(values[0]) + 2)
    assert task.score(",".join(values), instance) == 0.0


INSTANCE = Instance("", [16, 0, 4, 2], "t", {"size": 2})


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("16, 0\n4, 2", 1.0),
        ("16,0,4,2", 1.0),
        ("[[16, 0], [4, 2]]", 1.0),
        ("16 0\n4 2", 1.0),
        ("0, 16\n4, 2", 0.0),
        ("16, 0\n4, 4", 0.0),
        ("16, 0, 4", 0.0),
        ("16, 0, 4, 2, 0", 0.0),
        ("16, -, 4, 2", 0.0),
        ("16.0, 0, 4, 2", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert Game2048().score(answer, INSTANCE) == expected


def test_official_instances(data_dir):
    task = Game2048(instances=OFFICIAL)
    assert task.num_questions() == 200
    empty_start = 0
    for seed in range(200):
        instance = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / instance.instance_id / "solution.json").read_text())
        r, c = stored["start_pos"]
        if stored["grid"][r][c] == 0:
            empty_start += 1
            assert "there is no tile to move" in instance.question
        assert task.score(stored["solution"], instance) == 1.0, instance.instance_id
        rows = stored["solution"].split("\n")
        rows[0] = rows[0].replace(rows[0].split(",")[0], str(int(rows[0].split(",")[0]) + 2), 1)
        assert task.score("\n".join(rows), instance) == 0.0, instance.instance_id
        if seed % 10 == 0:
            assert task.score(run_reference(task, instance), instance) == 1.0
    assert empty_start == 101  # CodeSteer drew these start cells without looking at the grid
