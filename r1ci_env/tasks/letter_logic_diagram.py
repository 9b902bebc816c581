"""Letter Logic Diagram (SymBench): complete a 7x7 grid of the letters a-g so that every row and
every column holds each letter once and the whole minor diagonal (top-right to bottom-left) holds
one letter.

Generated puzzles blank `min_blanks`..`max_blanks` random cells of a random solution grid (not only
the cyclic grids CodeSteer draws); `instances=<dir>` serves the official instances (`grid` with nulls
in `sample_<i>/solution.json`).

Checker (CK, a deliberate change from CodeSteer's exact match): any completion that keeps the given
letters and satisfies the three rules scores 1.0. CodeSteer compares the answer with its stored
solution, but 84 of its 200 official puzzles have more than one valid completion (up to 202), so
exact match would fail correct answers; on puzzles with a unique completion the two agree. The
answer is 49 letters read row by row: rows on separate lines or separated by semicolons, cells
separated by commas and/or spaces, brackets and quotes around cells ignored, case ignored. Rows
written as 7 letters with no separator ("cgefbad") are accepted too.
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

SIZE = 7
LETTERS = "abcdefg"
Grid = list[list[str | None]]  # rows of letters, None for a blank
MAX_UNIQUE_BLANKS = 36  # with unique=True; beyond this almost no grid keeps a unique completion
MAX_ATTEMPTS = 1000


@dataclass
class LetterLogicDiagramConfig(SymBenchConfig):
    """Generator knobs. A puzzle is a random valid 7x7 grid with a uniform number of random cells
    blanked. CodeSteer blanks 15, 20, 25 or 30 cells (its complexities 1-5); the default range covers them.

    min_blanks, max_blanks: how many of the 49 cells are blank (1-49).
    unique: blank only cells whose removal keeps exactly one completion (at most 36 blanks; the
        checker accepts any valid completion either way).
    instances: official instances (`<dir>/sample_<i>/solution.json` with `grid`, e.g.
        `symbench/letter_logic_diagram`).
    """

    min_blanks: int = 15
    max_blanks: int = 30
    unique: bool = False


class LetterLogicDiagram(SymBenchTask):
    name = "LetterLogicDiagram"
    category = "planning"
    checker = "CK"
    config_class = LetterLogicDiagramConfig
    config: LetterLogicDiagramConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not 1 <= c.min_blanks <= c.max_blanks <= SIZE * SIZE:
            raise ValueError("LetterLogicDiagram needs 1 <= min_blanks <= max_blanks <= 49")
        if c.unique and c.max_blanks > MAX_UNIQUE_BLANKS:
            raise ValueError(
                f"LetterLogicDiagram: unique puzzles with more than {MAX_UNIQUE_BLANKS} blanks are too rare; "
                "lower max_blanks"
            )

    def read_instance(self, path: Path, instance_id: str) -> Grid:
        return read_grid(path)

    def build(self, problem: Grid, instance_id: str) -> Instance:
        grid = problem
        return Instance(
            question=_question(grid),
            gold={"grid": grid},
            instance_id=instance_id,
            metadata={"blanks": sum(cell is None for row in grid for cell in row)},
        )

    def sample(self, rng: Random) -> Grid:
        c = self.config
        for _ in range(MAX_ATTEMPTS):
            grid: Grid = [list(row) for row in _random_solution(rng)]
            blanks = rng.randint(c.min_blanks, c.max_blanks)
            cells = rng.sample(range(SIZE * SIZE), SIZE * SIZE if c.unique else blanks)
            made = 0
            for cell in cells:
                if made == blanks:
                    break
                row, col = divmod(cell, SIZE)
                letter, grid[row][col] = grid[row][col], None
                if c.unique and count_completions(grid, 2) > 1:  # keep only blanks that keep it unique
                    grid[row][col] = letter
                else:
                    made += 1
            if made == blanks:
                return grid
        raise RuntimeError(f"LetterLogicDiagram: no unique puzzle found for {c}; lower max_blanks")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if is_valid_completion(answer, instance.gold["grid"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return solver_program(
            solve_grid,
            comment="Backtracking over the blank cells, most constrained cell first, for each diagonal letter.",
            main=f"grid = {json.dumps(instance.gold['grid']).replace('null', 'None')}\n"
            + "print('\\n'.join(','.join(row) for row in solve_grid(grid)))\n",
        )


# ---------------------------------------------------------------- generation, question, files


def _random_solution(rng: Random) -> list[list[str]]:
    """A random full grid: a random diagonal letter, then a randomised search that fills the most
    constrained blank cell first (ties and letter order broken at random), restarted if unlucky."""
    while True:
        diagonal = rng.randrange(SIZE)
        grid: list[list[int | None]] = [[None] * SIZE for _ in range(SIZE)]
        for i in range(SIZE):
            grid[i][SIZE - 1 - i] = diagonal
        if _fill_randomly(grid, rng):
            return [[LETTERS[v] for v in row] for row in grid]


def _fill_randomly(grid: list[list[int | None]], rng: Random) -> bool:
    rows = [sum(1 << v for v in row if v is not None) for row in grid]
    cols = [sum(1 << grid[i][j] for i in range(SIZE) if grid[i][j] is not None) for j in range(SIZE)]
    blanks = [(i, j) for i in range(SIZE) for j in range(SIZE) if grid[i][j] is None]
    rng.shuffle(blanks)
    budget = [2_000]  # give up on an unlucky search and restart with fresh choices

    def fill() -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        best, best_free = None, None
        for i, j in blanks:
            if grid[i][j] is None:
                free = [v for v in range(SIZE) if not (rows[i] | cols[j]) >> v & 1]
                if best_free is None or len(free) < len(best_free):
                    best, best_free = (i, j), free
        if best is None:
            return True
        i, j = best
        rng.shuffle(best_free)
        for v in best_free:
            grid[i][j] = v
            rows[i] |= 1 << v
            cols[j] |= 1 << v
            if fill():
                return True
            rows[i] &= ~(1 << v)
            cols[j] &= ~(1 << v)
        grid[i][j] = None
        return False

    return fill()


def _question(grid: Grid) -> str:
    rows = "\n".join(",".join(cell or "" for cell in row) for row in grid)
    return (
        "Complete this 7x7 letter grid. Every cell must hold one of the letters a, b, c, d, e, f, g, and:\n"
        "- each row contains every one of the seven letters exactly once;\n"
        "- each column contains every one of the seven letters exactly once;\n"
        "- the seven cells of the minor diagonal (from the top-right corner to the bottom-left corner) "
        "all hold the same letter.\n"
        "Letters already in the grid must stay where they are.\n\n"
        "The grid, one row per line, cells separated by commas (an empty cell is blank):\n\n"
        f"{rows}\n\n"
        "Give the completed grid inside <<< and >>>: seven lines, one per row, each with the row's seven "
        "letters separated by commas, like\n<<<\na,b,c,d,e,f,g\n...\n>>>"
    )


def read_grid(path: Path) -> Grid:
    """The puzzle (`grid`, None for a blank) of an official `solution.json`."""
    grid = json.loads(path.read_text())["grid"]
    cells_ok = all(len(row) == SIZE and all(c is None or c in LETTERS for c in row) for row in grid)
    if len(grid) != SIZE or not cells_ok:
        raise ValueError(f"{path}: `grid` must be 7 rows of 7 letters a-g or null")
    return grid


# ---------------------------------------------------------------- checker and solver


def parse_grid(answer: str) -> list[list[str]] | None:
    """The 7x7 letter grid written in `answer` (see the module docstring), or None."""
    cells = [cell.lower() for cell in split_cells(answer.replace(";", "\n"))]
    if len(cells) == SIZE and all(len(cell) == SIZE for cell in cells):
        cells = [letter for cell in cells for letter in cell]
    if len(cells) != SIZE * SIZE or any(cell not in LETTERS or len(cell) != 1 for cell in cells):
        return None
    return [cells[i * SIZE : (i + 1) * SIZE] for i in range(SIZE)]


def is_valid_completion(answer: str, puzzle: Grid) -> bool:
    """True iff `answer` is a full grid that keeps the puzzle's letters and obeys the three rules."""
    grid = parse_grid(answer)
    if grid is None:
        return False
    full = set(LETTERS)
    return (
        all(given is None or given == cell for prow, row in zip(puzzle, grid) for given, cell in zip(prow, row))
        and all(set(row) == full for row in grid)
        and all({grid[i][j] for i in range(SIZE)} == full for j in range(SIZE))
        and len({grid[i][SIZE - 1 - i] for i in range(SIZE)}) == 1
    )


def count_completions(puzzle: Grid, limit: int) -> int:
    """How many valid completions `puzzle` has, counting up to `limit`."""
    return len(solve_grid(puzzle, limit=limit, all_solutions=True))


def solve_grid(puzzle, limit=1, all_solutions=False):
    """A completion of the 7x7 puzzle (rows of 'a'-'g' or None), or with `all_solutions` a list of up
    to `limit` completions. Tries each possible diagonal letter, then fills the most constrained
    blank cell first, tracking the letters used per row and column as bit masks."""
    n, letters = 7, "abcdefg"
    found = []
    givens_on_diagonal = {puzzle[i][n - 1 - i] for i in range(n)} - {None}
    if len(givens_on_diagonal) > 1:
        return found if all_solutions else None
    for diagonal in sorted(givens_on_diagonal) if givens_on_diagonal else letters:
        grid = [[None if c is None else letters.index(c) for c in row] for row in puzzle]
        for i in range(n):
            grid[i][n - 1 - i] = letters.index(diagonal)
        rows, cols, ok = [0] * n, [0] * n, True
        for i in range(n):
            for j in range(n):
                v = grid[i][j]
                if v is not None:
                    if (rows[i] | cols[j]) >> v & 1:  # a letter repeated by the givens
                        ok = False
                    rows[i] |= 1 << v
                    cols[j] |= 1 << v
        if not ok:
            continue
        blanks = [(i, j) for i in range(n) for j in range(n) if grid[i][j] is None]

        def search():
            best, best_mask, best_count = None, 0, n + 1
            for i, j in blanks:
                if grid[i][j] is None:
                    mask = ~(rows[i] | cols[j]) & ((1 << n) - 1)
                    count = bin(mask).count("1")
                    if count < best_count:
                        best, best_mask, best_count = (i, j), mask, count
                        if count == 0:
                            return False
            if best is None:
                found.append([[letters[v] for v in row] for row in grid])
                return len(found) >= limit
            i, j = best
            while best_mask:
                v = (best_mask & -best_mask).bit_length() - 1
                best_mask &= best_mask - 1
                grid[i][j] = v
                rows[i] |= 1 << v
                cols[j] |= 1 << v
                if search():
                    return True
                rows[i] &= ~(1 << v)
                cols[j] &= ~(1 << v)
            grid[i][j] = None
            return False

        if search():
            break
    return found if all_solutions else (found[0] if found else None)


register_task(LetterLogicDiagram)
