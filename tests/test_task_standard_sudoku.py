"""StandardSudoku: generation knobs (blanks, uniqueness), the constraint checker, the solver, and
the official instances."""

from __future__ import annotations

import json

from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.standard_sudoku import StandardSudoku, solve_sudoku

OFFICIAL = "symbench/standard_sudoku"
SOLUTION = [
    [8, 5, 3, 2, 1, 4, 6, 7, 9], [4, 9, 2, 3, 6, 7, 1, 8, 5], [6, 7, 1, 8, 9, 5, 4, 2, 3],
    [1, 8, 7, 6, 2, 9, 5, 3, 4], [2, 3, 9, 4, 5, 8, 7, 6, 1], [5, 6, 4, 1, 7, 3, 8, 9, 2],
    [7, 4, 5, 9, 3, 6, 2, 1, 8], [3, 1, 6, 5, 8, 2, 9, 4, 7], [9, 2, 8, 7, 4, 1, 3, 5, 6],
]  # fmt: skip


def test_blanks_and_uniqueness_follow_the_knobs():
    task = StandardSudoku(min_blanks=40, max_blanks=42)
    for seed in range(8):
        inst = task.generate(seed)
        puzzle = inst.gold["puzzle"]
        assert 40 <= inst.metadata["blanks"] == sum(v == 0 for row in puzzle for v in row) <= 42
        assert len(solve_sudoku(puzzle, limit=2)) == 1
    loose = StandardSudoku(min_blanks=64, max_blanks=64, unique=False)
    puzzles = [loose.generate(s).gold["puzzle"] for s in range(3)]
    assert all(sum(v == 0 for row in p for v in row) == 64 for p in puzzles)
    assert any(len(solve_sudoku(p, limit=2)) == 2 for p in puzzles)


def blank(grid, cells):
    return [[0 if (r, c) in cells else v for c, v in enumerate(row)] for r, row in enumerate(grid)]


def test_checker_accepts_layouts():
    task = StandardSudoku()
    inst = Instance(question="", gold={"puzzle": blank(SOLUTION, {(0, 0), (4, 4)})}, instance_id="t")
    for answer in (
        json.dumps(SOLUTION),
        str(SOLUTION),
        "\n".join(" ".join(map(str, row)) for row in SOLUTION),
        "\n".join(",".join(map(str, row)) for row in SOLUTION),
        "\n".join("".join(map(str, row)) for row in SOLUTION),
    ):
        assert task.score(answer, inst) == 1.0, answer


def test_checker_rejects_rule_breaks_and_changed_givens():
    task = StandardSudoku()
    inst = Instance(question="", gold={"puzzle": blank(SOLUTION, {(0, 0), (0, 1)})}, instance_id="t")
    swapped = [row[:] for row in SOLUTION]
    swapped[0][0], swapped[0][1] = swapped[0][1], swapped[0][0]  # rows fine, columns broken
    assert task.score(json.dumps(swapped), inst) == 0.0
    # Swapping two whole rows inside a band keeps every rule but changes givens.
    rows = [SOLUTION[1], SOLUTION[0]] + SOLUTION[2:]
    assert solve_sudoku(rows) and task.score(json.dumps(rows), inst) == 0.0
    assert task.score(json.dumps(rows), Instance("", {"puzzle": [[0] * 9] * 9}, "empty")) == 1.0
    full = json.dumps(SOLUTION)
    for bad in ("", json.dumps(SOLUTION[:8]), full.replace("9", "0"), full + ", 1", "x" * 1000):
        assert task.score(bad, inst) == 0.0


def test_reference_solution_and_one_changed_cell():
    task = StandardSudoku()
    for seed in range(6):
        inst = task.generate(seed)
        answer = run_reference(task, inst)
        assert task.score(answer, inst) == 1.0
        grid = json.loads(answer)
        r, c = next((r, c) for r in range(9) for c in range(9) if inst.gold["puzzle"][r][c] == 0)
        grid[r][c] = grid[r][c] % 9 + 1
        assert task.score(json.dumps(grid), inst) == 0.0


def test_official_instances(data_dir):
    task = StandardSudoku(instances=OFFICIAL)
    assert task.num_questions() == 120
    for seed in range(120):
        inst = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        assert inst.gold["puzzle"] == stored["puzzle"]
        assert task.score(json.dumps(stored["solution"]), inst) == 1.0, inst.instance_id
        grid = [row[:] for row in stored["solution"]]
        r, c = next((r, c) for r in range(9) for c in range(9) if stored["puzzle"][r][c] == 0)
        grid[r][c] = grid[r][c] % 9 + 1
        assert task.score(json.dumps(grid), inst) == 0.0, inst.instance_id
        if seed % 20 == 0:
            assert task.score(run_reference(task, inst), inst) == 1.0
