"""LogicalPuzzle: complexity levels, the selection checker, the solver, official data (with the stored
solutions that break their own constraint listed)."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.logical_puzzle import LEVELS, LogicalPuzzle, is_selection, select_cells

OFFICIAL = "symbench/logic_puzzle_dataset"

# Stored solutions that break the row/column constraint (CodeSteer's generator caches its constraint
# checks by cell positions across grids). Those marked unsolvable have no valid selection at all.
BROKEN_GOLD = {
    # sum_le_4 puzzles (complexity 1-2): a row or column of the stored selection sums to more than 4
    "sample_2": "unsolvable",
    "sample_3": "solvable",
    "sample_4": "unsolvable",
    "sample_5": "unsolvable",
    "sample_8": "unsolvable",
    "sample_9": "unsolvable",
    "sample_12": "unsolvable",
    "sample_13": "unsolvable",
    "sample_14": "unsolvable",
    "sample_18": "unsolvable",
    "sample_19": "unsolvable",
    "sample_20": "solvable",
    "sample_21": "unsolvable",
    "sample_22": "unsolvable",
    "sample_23": "unsolvable",
    "sample_24": "unsolvable",
    "sample_25": "unsolvable",
    "sample_27": "unsolvable",
    "sample_28": "unsolvable",
    "sample_29": "unsolvable",
    "sample_30": "solvable",
    "sample_31": "unsolvable",
    # product_gt_0 puzzles (complexity 3): a row or column of the stored selection has a negative product
    "sample_33": "unsolvable",
    "sample_38": "unsolvable",
    "sample_39": "unsolvable",
    "sample_40": "unsolvable",
    "sample_45": "unsolvable",
}
PUZZLE = Instance(question="", gold={"grid": [[1, 2], [3, 1]], "count": 3, "rule": "sum_le_4"}, instance_id="t")
PRODUCT = Instance(
    question="",
    gold={"grid": [[-1, 5, -2], [-3, 4, -4], [6, 7, 8]], "count": 5, "rule": "product_gt_0"},
    instance_id="t",
)


def cells_text(cells) -> str:
    return ", ".join(f"{r} {c}" for r, c in cells)


@pytest.mark.parametrize("complexity", [1, 2, 3, 7, 10])
def test_levels_set_size_count_values_and_rule(complexity):
    size, count, (low, high), rule = LEVELS[complexity]
    task = LogicalPuzzle(min_complexity=complexity, max_complexity=complexity)
    for seed in range(5):
        inst = task.generate(seed)
        grid = inst.gold["grid"]
        assert len(grid) == size and all(len(row) == size for row in grid)
        assert all(low <= v <= high and v != 0 for row in grid for v in row)
        assert (inst.gold["count"], inst.gold["rule"], inst.metadata["complexity"]) == (count, rule, complexity)
        assert f"Select exactly {count} cells" in inst.question


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = LogicalPuzzle()
    inst = task.generate(seed)
    assert task.score(run_reference(task, inst), inst) == 1.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("0 1, 1 0, 0 0", 1.0),  # 2 + 1 in row 0, 1 + 3 in column 0
        ("(0, 1), (0, 0), (1, 0)", 1.0),
        ("[[0, 1], [1, 0], [0, 0]]", 1.0),
        ("0 1, 1 0, 1 1", 1.0),  # another valid selection: row 1 sums to 4, column 1 to 3
        ("0 1, 1 0", 0.0),  # two cells
        ("0 1, 1 0, 1 0", 0.0),  # a cell twice
        ("0 1, 1 0, 2 0", 0.0),  # off the grid
        ("0 0, 1 0, 1 1", 0.0),  # top-right cell missing; column 0 sums to 4
        ("", 0.0),
    ],
)
def test_checker_sum(answer, expected):
    assert LogicalPuzzle().score(answer, PUZZLE) == expected


def test_checker_sum_violation_and_repeated_numbers():
    task = LogicalPuzzle()
    over = Instance(question="", gold={"grid": [[3, 2], [1, 4]], "count": 3, "rule": "sum_le_4"}, instance_id="t")
    assert task.score("0 1, 0 0, 1 0", over) == 0.0  # row 0 sums to 5
    repeated = Instance(question="", gold={"grid": [[1, 2], [1, 3]], "count": 3, "rule": "sum_le_4"}, instance_id="t")
    assert task.score("0 1, 0 0, 1 0", repeated) == 0.0  # every sum is fine, but 1 is selected twice
    assert select_cells(repeated.gold["grid"], 3, "sum_le_4") is None  # 2 + 3 in column 1 is too much


def test_checker_product():
    task = LogicalPuzzle()
    # the four negatives form a rectangle (two per row and column); 8 keeps column 2 positive
    assert task.score("0 2, 0 0, 1 0, 1 2, 2 2", PRODUCT) == 1.0
    assert task.score("0 2, 0 0, 1 1, 2 2, 2 1", PRODUCT) == 0.0  # column 0 holds only -1
    assert task.score("0 2, 0 1, 1 1, 2 2, 2 0", PRODUCT) == 0.0  # row 0: -2 * 5
    assert task.score(run_reference(task, PRODUCT), PRODUCT) == 1.0


def test_solver_agrees_with_brute_force():
    rng = random.Random(11)
    for _ in range(300):
        n, rule = rng.randint(2, 3), rng.choice(["sum_le_4", "product_gt_0"])
        values = list(range(0, 5)) if rule == "sum_le_4" else [v for v in range(-4, 6) if v]
        grid = [[rng.choice(values) for _ in range(n)] for _ in range(n)]
        count = rng.randint(1, n * n)
        cells = [(r, c) for r in range(n) for c in range(n)]
        exists = any(is_selection(list(pick), grid, count, rule) for pick in itertools.combinations(cells, count))
        found = select_cells(grid, count, rule)
        assert exists == (found is not None)
        assert found is None or is_selection(found, grid, count, rule)


def test_official_instances_gold_scores_one_and_perturbed_zero(data_dir):
    """The official puzzles: the 24 without any valid selection are skipped, so 176 are served; the
    stored selection scores 1.0 except for the 3 other entries of BROKEN_GOLD; dropping the top-right
    cell from the stored selection scores 0.0; the reference solver's answer is always accepted."""
    task = LogicalPuzzle(instances=OFFICIAL)
    unsolvable = sorted(name for name, verdict in BROKEN_GOLD.items() if verdict == "unsolvable")
    assert len(unsolvable) == 24 and sorted(task.skipped) == unsolvable
    assert task.num_questions() == 176
    served = set()
    for seed in range(176):
        inst = task.generate(seed)
        served.add(inst.instance_id)
        data = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        solution = [tuple(cell) for cell in data["solution"]]
        gold = inst.gold
        assert (gold["grid"], gold["count"], gold["rule"]) == (data["grid"], len(solution), data["constraints"]["type"])
        expected = 0.0 if inst.instance_id in BROKEN_GOLD else 1.0
        assert task.score(cells_text(solution), inst) == expected, inst.instance_id
        start = (0, len(gold["grid"]) - 1)
        without_start = [cell for cell in solution if cell != start]
        free = next(cell for cell in itertools.product(range(len(gold["grid"])), repeat=2) if cell not in solution)
        assert task.score(cells_text(without_start + [free]), inst) == 0.0
        assert task.score(run_reference(task, inst), inst) == 1.0, inst.instance_id
    assert len(served) == 176 and not served & set(unsolvable)
