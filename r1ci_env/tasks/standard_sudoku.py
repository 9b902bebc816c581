"""Standard Sudoku (SymBench): fill a 9x9 grid with 1-9 so that every row, column and 3x3 box holds
each digit once, keeping the given digits.

Generated puzzles start from a random full grid (a shuffled pattern grid: random digit relabelling,
band/stack and row/column permutations within them, optional transpose) and blank random cells; with
`unique` (the default, like all 120 official puzzles) a cell is blanked only if the puzzle keeps
exactly one solution. `instances=<dir>` serves the official instances (`puzzle` of
`sample_<i>/solution.json`, 0 for a blank).

Checker (CK, CodeSteer's `check_sudoku_solution` rules): the answer must be 81 digits 1-9 that keep
every given digit and make every row, column and 3x3 box a permutation of 1-9; any such grid scores
1.0. Accepted layouts: the JSON list of 9 rows CodeSteer asks for, or the digits separated by
commas, spaces, semicolons or line breaks, brackets and quotes ignored; rows written as 9 digits
with no separator ("853214679") are accepted too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

MAX_UNIQUE_BLANKS = 58  # with unique=True; beyond this greedy blanking rarely succeeds
MAX_ATTEMPTS = 1000
Grid = list[list[int]]  # 9 rows of 9 digits, 0 for a blank


@dataclass
class StandardSudokuConfig(SymBenchConfig):
    """Generator knobs. The defaults match CodeSteer's puzzles (51-55 blanks, one solution each).

    min_blanks, max_blanks: how many of the 81 cells are blank.
    unique: blank only cells whose removal keeps exactly one solution (at most 58 blanks); the
        checker accepts any valid solution either way.
    instances: official instances (`<dir>/sample_<i>/solution.json` with `puzzle`, e.g.
        `symbench/standard_sudoku`).
    """

    min_blanks: int = 51
    max_blanks: int = 55
    unique: bool = True


class StandardSudoku(SymBenchTask):
    name = "StandardSudoku"
    category = "planning"
    checker = "CK"
    config_class = StandardSudokuConfig
    config: StandardSudokuConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("blanks", low=1, high=81)
        if c.unique and c.max_blanks > MAX_UNIQUE_BLANKS:
            raise ValueError(f"StandardSudoku: unique puzzles need max_blanks <= {MAX_UNIQUE_BLANKS}")

    def read_instance(self, path: Path, instance_id: str) -> Grid:
        return read_puzzle(path)

    def build(self, problem: Grid, instance_id: str) -> Instance:
        puzzle = problem
        return Instance(
            question=_question(puzzle),
            gold={"puzzle": puzzle},
            instance_id=instance_id,
            metadata={"blanks": sum(v == 0 for row in puzzle for v in row)},
        )

    def sample(self, rng: Random) -> Grid:
        c = self.config
        for _ in range(MAX_ATTEMPTS):
            grid = _random_full_grid(rng)
            blanks = rng.randint(c.min_blanks, c.max_blanks)
            made = 0
            for cell in rng.sample(range(81), 81 if c.unique else blanks):
                if made == blanks:
                    break
                row, col = divmod(cell, 9)
                digit, grid[row][col] = grid[row][col], 0
                if c.unique and len(solve_sudoku(grid, limit=2)) > 1:
                    grid[row][col] = digit
                else:
                    made += 1
            if made == blanks:
                return grid
        raise RuntimeError(f"StandardSudoku: no unique puzzle found for {c}; lower max_blanks")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if is_valid_solution(answer, instance.gold["puzzle"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return solver_program(
            solve_sudoku,
            comment="Backtracking, most constrained blank cell first, with row/column/box digit masks.",
            main=f"puzzle = {json.dumps(instance.gold['puzzle'])}\n" + "print(solve_sudoku(puzzle)[0])\n",
        )


# ---------------------------------------------------------------- generation, question, files


def _random_full_grid(rng: Random) -> Grid:
    def order() -> list[int]:
        return [group * 3 + i for group in rng.sample(range(3), 3) for i in rng.sample(range(3), 3)]

    rows, cols, digits = order(), order(), rng.sample(range(1, 10), 9)
    grid = [[digits[(3 * (r % 3) + r // 3 + c) % 9] for c in cols] for r in rows]
    return [list(col) for col in zip(*grid)] if rng.random() < 0.5 else grid


def _question(puzzle: Grid) -> str:
    rows = "\n".join(",".join(str(v) if v else "_" for v in row) for row in puzzle)
    return (
        "Solve this Sudoku. Fill every blank cell (written _) with a digit from 1 to 9 so that each row, "
        "each column and each of the nine 3x3 boxes contains every digit from 1 to 9 exactly once. The "
        "digits already given must not change.\n\n"
        f"{rows}\n\n"
        "Give the completed grid inside <<< and >>> as a list of its 9 rows, each a list of 9 digits, for "
        "example <<<[[5,3,4,6,7,8,9,1,2], [6,7,2,1,9,5,3,4,8], ...]>>> with all 9 rows."
    )


def read_puzzle(path: Path) -> Grid:
    """The puzzle (0 for a blank) of an official `solution.json`."""
    puzzle = json.loads(path.read_text())["puzzle"]
    cells_ok = all(len(row) == 9 and all(type(v) is int and 0 <= v <= 9 for v in row) for row in puzzle)
    if len(puzzle) != 9 or not cells_ok:
        raise ValueError(f"{path}: `puzzle` must be 9 rows of 9 digits 0-9")
    return puzzle


# ---------------------------------------------------------------- checker and solver


def parse_sudoku(answer: str) -> Grid | None:
    """The 9x9 grid of digits written in `answer` (see the module docstring), or None."""
    cells = split_cells(answer)
    if len(cells) == 9 and all(len(cell) == 9 for cell in cells):
        cells = [digit for cell in cells for digit in cell]
    if len(cells) != 81 or not all(len(cell) == 1 and cell in "123456789" for cell in cells):
        return None
    return [[int(cells[r * 9 + c]) for c in range(9)] for r in range(9)]


def is_valid_solution(answer: str, puzzle: Grid) -> bool:
    """True iff `answer` is a full grid that keeps the givens and has valid rows, columns and boxes."""
    grid = parse_sudoku(answer)
    if grid is None:
        return False
    digits = set(range(1, 10))
    boxes = [[grid[r][c] for r in range(br, br + 3) for c in range(bc, bc + 3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
    return (
        all(given in (0, value) for prow, row in zip(puzzle, grid) for given, value in zip(prow, row))
        and all(set(row) == digits for row in grid)
        and all({grid[r][c] for r in range(9)} == digits for c in range(9))
        and all(set(box) == digits for box in boxes)
    )


def solve_sudoku(puzzle, limit=1):
    """Up to `limit` solutions of a 9x9 sudoku (rows of digits, 0 for a blank). Backtracking that
    always fills the blank cell with the fewest candidate digits, using bit masks per row, column
    and box."""
    grid = [list(row) for row in puzzle]
    rows, cols, boxes, blanks = [0] * 9, [0] * 9, [0] * 9, []
    for r in range(9):
        for c in range(9):
            v, b = grid[r][c], r // 3 * 3 + c // 3
            if v:
                bit = 1 << v
                if (rows[r] | cols[c] | boxes[b]) & bit:
                    return []  # the givens already clash
                rows[r] |= bit
                cols[c] |= bit
                boxes[b] |= bit
            else:
                blanks.append((r, c, b))
    solutions = []

    def search():
        best, best_mask, best_count = None, 0, 10
        for r, c, b in blanks:
            if grid[r][c] == 0:
                mask = ~(rows[r] | cols[c] | boxes[b]) & 0x3FE
                count = bin(mask).count("1")
                if count < best_count:
                    best, best_mask, best_count = (r, c, b), mask, count
                    if count <= 1:
                        break
        if best is None:
            solutions.append([list(row) for row in grid])
            return len(solutions) >= limit
        r, c, b = best
        while best_mask:
            bit = best_mask & -best_mask
            best_mask ^= bit
            grid[r][c] = bit.bit_length() - 1
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            if search():
                return True
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
        grid[r][c] = 0
        return False

    search()
    return solutions


register_task(StandardSudoku)
