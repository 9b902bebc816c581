"""PatternRecognition: the single-square generator, the corner finder, the checker, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.pattern_recognition import PatternRecognition, largest_square_corner, square_sides

OFFICIAL = "symbench/pattern_recognition"


def test_largest_square_corner():
    grid = ["ABCDE", "AQQQE", "BQQQF", "CQQQG", "DEFGH"]
    assert largest_square_corner(grid) == (3, 3)
    assert square_sides(grid)[3][3] == 3 and square_sides(grid)[2][2] == 2


def test_generated_grid_has_exactly_one_square_region_and_follows_knobs():
    task = PatternRecognition(
        min_rows=7, max_rows=8, min_cols=9, max_cols=9, min_square=4, max_square=5, alphabet_size=6
    )
    for seed in range(30):
        instance = task.generate(seed)
        grid = instance.metadata["grid"]
        assert 7 <= len(grid) <= 8 and all(len(row) == 9 for row in grid)
        assert set("".join(grid)) <= set("ABCDEF")
        sides = square_sides(grid)
        r, c = instance.gold
        assert 4 <= sides[r][c] <= 5
        big = [(i, j) for i, row in enumerate(sides) for j, s in enumerate(row) if s >= 4]
        assert all(
            r - sides[r][c] < i - sides[i][j] + 1 and i <= r and c - sides[r][c] < j - sides[i][j] + 1 and j <= c
            for i, j in big
        )
        assert "at least 4x4" in instance.question


def test_default_square_side_is_at_most_half_the_shorter_side():
    task = PatternRecognition()
    for seed in range(50):
        instance = task.generate(seed)
        grid, (r, c) = instance.metadata["grid"], instance.gold
        assert 3 <= square_sides(grid)[r][c] <= max(3, min(len(grid), len(grid[0])) // 2)


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = PatternRecognition()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    r, c = instance.gold
    assert task.score(f"[{r - 1}, {c - 1}]", instance) == 0.0  # a corner of a smaller square inside


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("[5, 6]", 1.0),
        ("5, 6", 1.0),
        ("(5,6)", 1.0),
        (" [5,6] ", 1.0),
        ("5 6", 1.0),
        ("[6, 5]", 0.0),
        ("[5, 7]", 0.0),
        ("[4, 6]", 0.0),
        ("[5, 6, 7]", 0.0),
        ("[5]", 0.0),
        ("row 5, column 6", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert PatternRecognition().score(answer, Instance("", [5, 6], "t")) == expected


def test_official_instances(data_dir):
    task = PatternRecognition(instances=OFFICIAL)
    assert task.num_questions() == 100
    for seed in range(100):
        instance = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / instance.instance_id / "solution.json").read_text())
        assert task.score(f"[{stored['row']}, {stored['column']}]", instance) == 1.0, instance.instance_id
        assert task.score(f"[{stored['row'] + 1}, {stored['column']}]", instance) == 0.0, instance.instance_id
        if seed % 10 == 0:
            assert task.score(run_reference(task, instance), instance) == 1.0
