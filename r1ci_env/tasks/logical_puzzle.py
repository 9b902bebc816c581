"""Logical Puzzle (SymBench): select k cells of a number grid with all-different numbers, starting
from the top-right cell, so that every row and column meets a constraint on its selected numbers.

Two constraints, as in CodeSteer's data (`constraints.type`): `sum_le_4` (the selected numbers of
each row and each column sum to at most 4) and `product_gt_0` (their product is positive; a row or
column with nothing selected is fine). Generated with CodeSteer's ten complexity levels (grid size,
k, value range, constraint), keeping grids the solver can complete; `instances=<dir>` serves CodeSteer's
instances (`logic_puzzle_dataset/sample_<i>/solution.json` with `grid`, `solution`,
`constraints.type`; k is the length of the stored solution). 27 of those 200 stored solutions break
the row/column constraint (CodeSteer's generator caches constraint checks by cell positions across
grids), and 24 of those puzzles have no valid selection at all: those 24 are skipped (never served;
`self.skipped` lists them), so the official set serves 176 puzzles.

Checking rules and the CodeSteer defects fixed: any valid selection scores 1.0. CodeSteer only
checks the number of listed cells and the row/column constraint; here the cells must also be
distinct and on the grid (a repeated cell counts twice there), their numbers must all be different
(the question asks for different numbers), and the top-right cell, which the question fixes as the
first selection, must be selected. Cells are `row col` pairs (0-based), also as `(r, c)` or `[r, c]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import InstanceDirectory, parse_cell_pairs
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

RULES = ("sum_le_4", "product_gt_0")
MAX_ATTEMPTS = 500

# CodeSteer's levels: complexity -> (grid size, cells to select, (lowest, highest) value, constraint)
LEVELS = {
    1: (2, 3, (1, 3), "sum_le_4"),
    2: (3, 4, (1, 4), "sum_le_4"),
    3: (4, 6, (-5, 8), "product_gt_0"),
    4: (5, 9, (-8, 8), "product_gt_0"),
    5: (5, 10, (-10, 10), "product_gt_0"),
    6: (6, 12, (-12, 12), "product_gt_0"),
    7: (7, 16, (-14, 14), "product_gt_0"),
    8: (8, 18, (-16, 16), "product_gt_0"),
    9: (9, 20, (-18, 18), "product_gt_0"),
    10: (10, 25, (-20, 20), "product_gt_0"),
}


@dataclass
class LogicalPuzzleConfig(SymBenchConfig):
    """Generator knobs. Each instance picks a complexity level uniformly from the range; a level
    fixes the grid size, the number of cells to select, the value range and the constraint
    (CodeSteer's table: level 1 is a 2x2 grid of 1-3 selecting 3 with row/column sums <= 4, level 10
    a 10x10 grid of -20..20 selecting 25 with positive row/column products). Values are uniform in
    the range, except that ranges with negatives draw a positive value 70% of the time.

    min_complexity, max_complexity: the range of levels (1-10).
    instances: official instances (`<dir>/sample_<i>/solution.json`, e.g.
        `symbench/logic_puzzle_dataset`).
    """

    min_complexity: int = 1
    max_complexity: int = 10


class LogicalPuzzle(SymBenchTask):
    name = "LogicalPuzzle"
    category = "planning"
    checker = "CK"
    config_class = LogicalPuzzleConfig
    config: LogicalPuzzleConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not 1 <= c.min_complexity <= c.max_complexity <= max(LEVELS):
            raise ValueError(f"LogicalPuzzle needs 1 <= min_complexity <= max_complexity <= {max(LEVELS)}")

    def open_instances(self, path: str) -> InstanceDirectory:
        directory = InstanceDirectory(path, self.instance_file)
        self.skipped = directory.skip(self._unsolvable)
        return directory

    def _unsolvable(self, path: Path) -> bool:
        """Whether the official puzzle at `path` has no valid selection (a CodeSteer data defect)."""
        grid, count, rule, _ = self.read_instance(path, "")
        return select_cells(grid, count, rule) is None

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[list[int]], int, str, int]:
        data = json.loads(path.read_text())
        grid, solution, rule = data["grid"], data["solution"], data["constraints"]["type"]
        if rule not in RULES or not grid or any(len(row) != len(grid[0]) for row in grid):
            raise ValueError(f"{path}: unknown constraint {rule!r} or ragged grid")
        return grid, len(solution), rule, data.get("complexity", 0)

    def build(self, problem: tuple[list[list[int]], int, str, int], instance_id: str) -> Instance:
        grid, count, rule, complexity = problem
        return Instance(
            question=_question(grid, count, rule),
            gold={"grid": grid, "count": count, "rule": rule},
            instance_id=instance_id,
            metadata={"complexity": complexity, "size": len(grid)},
        )

    def sample(self, rng: Random) -> tuple[list[list[int]], int, str, int]:
        c = self.config
        complexity = rng.randint(c.min_complexity, c.max_complexity)
        size, count, (low, high), rule = LEVELS[complexity]
        for _ in range(MAX_ATTEMPTS):
            grid = [[_random_value(rng, low, high) for _ in range(size)] for _ in range(size)]
            if select_cells(grid, count, rule) is not None:
                return grid, count, rule, complexity
        raise RuntimeError(f"LogicalPuzzle: no solvable grid found at complexity {complexity}")

    def score(self, answer: str, instance: Instance) -> float:
        cells = parse_cell_pairs(answer)
        gold = instance.gold
        if cells is None:
            return 0.0
        return 1.0 if is_selection(cells, gold["grid"], gold["count"], gold["rule"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        gold = instance.gold
        return solver_program(
            select_cells,
            comment="Search: for sums, backtracking over cells; for products, first a set of negative cells\n"
            "with an even number in every row and column, then distinct positive numbers.",
            main=f"grid = {gold['grid']!r}\ncells = select_cells(grid, {gold['count']!r}, {gold['rule']!r})\n"
            + "print(', '.join(f'{r} {c}' for r, c in cells) if cells else 'no valid selection exists')\n",
        )


def _random_value(rng: Random, low: int, high: int) -> int:
    if low < 0:
        return rng.randint(1, high) if rng.random() < 0.7 else rng.randint(low, -1)
    return rng.randint(low, high)


def _line_ok(values: list[int], rule: str) -> bool:
    if rule == "sum_le_4":
        return sum(values) <= 4
    product = 1
    for v in values:
        product *= v
    return product > 0


def is_selection(cells: list[tuple[int, int]], grid: list[list[int]], count: int, rule: str) -> bool:
    """True iff `cells` are `count` distinct cells of `grid` including the top-right one, with
    all-different numbers, and every row's and column's selected numbers meet `rule`."""
    rows, cols = len(grid), len(grid[0])
    if len(cells) != count or len(set(cells)) != count:
        return False
    if any(not (0 <= r < rows and 0 <= c < cols) for r, c in cells) or (0, cols - 1) not in cells:
        return False
    if len({grid[r][c] for r, c in cells}) != count:
        return False
    by_row = [[grid[r][c] for r, c in cells if r == i] for i in range(rows)]
    by_col = [[grid[r][c] for r, c in cells if c == j] for j in range(cols)]
    return all(_line_ok(line, rule) for line in by_row + by_col)


def select_cells(grid, count, rule):
    """`count` cells (row, col) of `grid` with all-different numbers, including the top-right cell,
    such that in every row and column the selected numbers sum to at most 4 (rule 'sum_le_4') or
    have a positive product (rule 'product_gt_0'); None if there are none."""
    rows, cols = len(grid), len(grid[0])
    start = (0, cols - 1)
    cells = [(r, c) for r in range(rows) for c in range(cols)]

    if rule == "sum_le_4":
        nonnegative = all(v >= 0 for row in grid for v in row)
        chosen, used = [start], {grid[0][cols - 1]}
        row_sum, col_sum = [0] * rows, [0] * cols
        row_sum[0] += grid[0][cols - 1]
        col_sum[cols - 1] += grid[0][cols - 1]
        others = [cell for cell in cells if cell != start]

        def fits():
            return all(s <= 4 for s in row_sum) and all(s <= 4 for s in col_sum)

        def search(i):
            if len(chosen) == count:
                return fits()
            if nonnegative and not fits():
                return False
            if len(others) - i < count - len(chosen):
                return False
            r, c = others[i]
            v = grid[r][c]
            if v not in used:
                chosen.append((r, c)), used.add(v)
                row_sum[r] += v
                col_sum[c] += v
                if search(i + 1):
                    return True
                row_sum[r] -= v
                col_sum[c] -= v
                chosen.pop(), used.discard(v)
            return search(i + 1)

        return sorted(chosen) if search(0) else None

    # product_gt_0: a product is positive iff it has no zero and an even number of negatives.
    positives = {}
    for r, c in cells:
        if grid[r][c] > 0:
            positives.setdefault(grid[r][c], (r, c))
    start_value = grid[0][cols - 1]
    if start_value > 0:
        positives[start_value] = start
    negatives = [(r, c) for r, c in cells if grid[r][c] < 0]
    last_in_row = {r: i for i, (r, c) in enumerate(negatives)}
    last_in_col = {c: i for i, (r, c) in enumerate(negatives)}
    needs_start = start_value < 0
    if start_value == 0:
        return None

    def negative_sets(size):
        chosen, used = [], set()
        row_odd, col_odd = [False] * rows, [False] * cols

        def search(i):
            if size - len(chosen) > len(negatives) - i:
                return None
            if i == len(negatives):
                return list(chosen) if len(chosen) == size else None
            r, c = negatives[i]
            v = grid[r][c]
            options = []
            for take in (True, False):
                odd_r = row_odd[r] != take
                odd_c = col_odd[c] != take
                if last_in_row[r] == i and odd_r or last_in_col[c] == i and odd_c:
                    continue  # the row or column would end with an odd number of negatives
                if take and (v in used or len(chosen) == size):
                    continue
                if not take and (r, c) == start and needs_start:
                    continue
                options.append(take)
            for take in options:
                if take:
                    chosen.append((r, c)), used.add(v)
                    row_odd[r], col_odd[c] = not row_odd[r], not col_odd[c]
                found = search(i + 1)
                if take:
                    chosen.pop(), used.discard(v)
                    row_odd[r], col_odd[c] = not row_odd[r], not col_odd[c]
                if found is not None:
                    return found
            return None

        return search(0)

    positive_needed_min = 1 if start_value > 0 else 0
    for size in range(0, count + 1, 2):
        if count - size > len(positives) or (needs_start and size == 0):
            continue
        if count - size < positive_needed_min:
            break
        chosen = negative_sets(size)
        if chosen is None:
            continue
        picks = sorted(positives.items(), key=lambda item: item[1] != start)[: count - size]
        if start_value > 0 and start not in [cell for _, cell in picks]:
            continue
        return sorted(chosen + [cell for _, cell in picks])
    return None


def _question(grid: list[list[int]], count: int, rule: str) -> str:
    rows, cols = len(grid), len(grid[0])
    text = "\n".join(", ".join(map(str, row)) for row in grid)
    condition = (
        "the selected numbers add up to at most 4"
        if rule == "sum_le_4"
        else "the product of the selected numbers is greater than 0"
    )
    return (
        f"Here is a grid of numbers with {rows} rows and {cols} columns; each line is a row, from row 0 "
        f"at the top, and the numbers of a row run from column 0 on the left to column {cols - 1} on "
        f"the right:\n\n{text}\n\n"
        f"Select exactly {count} cells, all holding different numbers. The top-right cell (row 0, "
        f"column {cols - 1}, holding {grid[0][cols - 1]}) must be one of them. In every row and in every "
        f"column, {condition} (a row or column with no selected cell is fine).\n\n"
        "Give the final answer inside <<< and >>> as the selected cells, each written as `row column` "
        "with 0-based indices and separated by commas, for example <<<0 3, 1 0, 2 4>>>."
    )


register_task(LogicalPuzzle)
