"""Eight Queens (SymBench): complete a partly filled 8x8 board to eight non-attacking queens while
keeping off blocked cells. Other board sizes (n queens on n x n) are a knob, and official boards of
any size are read (CodeSteer's `eight_queens_dataset_varied_complexity` has 10x10 boards).

Generated like CodeSteer's data set (0-3 queens already placed, 0-4 blocked cells, kept when the
board can be completed and its complexity `1 + queens + blocked // 2`, capped at 5, is in range);
`instances=<dir>` serves CodeSteer's instances (`eight_queens_dataset/sample_<i>/solution.json` with
`initial_board`, `blocked_positions`, `placed_queens`). The answer lists all eight queens as
`row col` pairs (0-based), e.g. `0 3, 1 0, ...`.

Checking rules and the CodeSteer defect fixed: exactly n (8) distinct cells on the board, none
blocked, no two queens sharing a row, column or diagonal, and - which CodeSteer does not check -
every queen already on the board must be among them. Pairs may also be written `(0, 3)` or
`[0, 3]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import parse_cell_pairs
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

Cell = tuple[int, int]


@dataclass
class EightQueensConfig(SymBenchConfig):
    """Generator knobs. A board gets 0-`max_placed` non-attacking queens and 0-`max_blocked` blocked
    cells at random; boards that cannot be completed, or whose complexity falls outside the range,
    are drawn again. CodeSteer's data uses the bands 1-2, 2-3, 3-4 and 4-5.

    size: the board is size x size and needs size queens (4-12; 8 is the paper's task).
    min_complexity, max_complexity: complexity range, 1-5 (1 + placed queens + blocked cells // 2,
        capped at 5).
    max_placed: most queens already on the board (0-3 in CodeSteer).
    max_blocked: most blocked cells (0-4 in CodeSteer).
    instances: official instances (`<dir>/sample_<i>/solution.json`, e.g.
        `symbench/eight_queens_dataset`).
    """

    size: int = 8
    min_complexity: int = 1
    max_complexity: int = 5
    max_placed: int = 3
    max_blocked: int = 4


class EightQueens(SymBenchTask):
    name = "EightQueens"
    category = "planning"
    checker = "CK"
    config_class = EightQueensConfig
    config: EightQueensConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("complexity", low=1, high=5)
        if not 4 <= c.size <= 12:
            raise ValueError("EightQueens needs 4 <= size <= 12")
        if not 0 <= c.max_placed < c.size or not 0 <= c.max_blocked <= c.size * c.size // 2:
            raise ValueError("EightQueens needs 0 <= max_placed < size and 0 <= max_blocked <= size*size/2")
        if _complexity(c.max_placed, c.max_blocked) < c.min_complexity:
            raise ValueError("EightQueens: max_placed and max_blocked cannot reach min_complexity")

    def sample(self, rng: Random) -> tuple[int, list[Cell], list[Cell]]:
        return (self.config.size, *self._random_board(rng))

    def read_instance(self, path: Path, instance_id: str) -> tuple[int, list[Cell], list[Cell]]:
        return _read_instance(path)

    def build(self, problem: tuple[int, list[Cell], list[Cell]], instance_id: str) -> Instance:
        size, placed, blocked = problem
        return Instance(
            question=_question(size, placed, blocked),
            gold={"size": size, "placed": [list(q) for q in placed], "blocked": [list(b) for b in blocked]},
            instance_id=instance_id,
            metadata={"complexity": _complexity(len(placed), len(blocked))},
        )

    def _random_board(self, rng: Random) -> tuple[list[Cell], list[Cell]]:
        c = self.config
        cells = [(r, col) for r in range(c.size) for col in range(c.size)]
        while True:
            placed: list[Cell] = []
            for _ in range(rng.randint(0, c.max_placed)):
                free = [cell for cell in cells if _safe(placed, cell)]
                if not free:
                    break
                placed.append(rng.choice(free))
            blocked = rng.sample([cell for cell in cells if cell not in placed], rng.randint(0, c.max_blocked))
            if (
                c.min_complexity <= _complexity(len(placed), len(blocked)) <= c.max_complexity
                and complete_queens(placed, blocked, c.size) is not None
            ):
                return placed, blocked

    def score(self, answer: str, instance: Instance) -> float:
        queens = parse_cell_pairs(answer)
        if queens is None:
            return 0.0
        gold = instance.gold
        placed = [tuple(q) for q in gold["placed"]]
        blocked = [tuple(b) for b in gold["blocked"]]
        return 1.0 if is_solution(queens, placed, blocked, gold["size"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        placed = [tuple(q) for q in instance.gold["placed"]]
        blocked = [tuple(b) for b in instance.gold["blocked"]]
        return solver_program(
            complete_queens,
            comment="Backtracking row by row, keeping the queens already placed and avoiding blocked cells.",
            main=f"queens = complete_queens({placed!r}, {blocked!r}, {instance.gold['size']!r})\n"
            + "print(', '.join(f'{r} {c}' for r, c in queens))\n",
        )


def _complexity(placed: int, blocked: int) -> int:
    return min(1 + placed + blocked // 2, 5)


def _safe(queens: list[Cell], cell: Cell) -> bool:
    return all(r != cell[0] and c != cell[1] and abs(r - cell[0]) != abs(c - cell[1]) for r, c in queens)


def is_solution(queens: list[Cell], placed: list[Cell], blocked: list[Cell], size: int = 8) -> bool:
    """True iff `queens` are `size` distinct cells of the size x size board, none blocked, all of
    `placed` included, and no two attack each other."""
    if len(queens) != size or len(set(queens)) != size:
        return False
    if any(not (0 <= r < size and 0 <= c < size) for r, c in queens):
        return False
    if set(blocked) & set(queens) or not set(placed) <= set(queens):
        return False
    return all(_safe(queens[:i], q) for i, q in enumerate(queens))


def complete_queens(placed, blocked, size=8):
    """The cells of `size` non-attacking queens that include `placed` and avoid `blocked`, sorted by
    row, or None. Fills the rows without a queen one by one, backtracking on dead ends."""
    blocked = set(map(tuple, blocked))
    queens = {r: c for r, c in placed}
    cols = set(queens.values())
    diag = {r - c for r, c in queens.items()}
    anti = {r + c for r, c in queens.items()}
    rows = [r for r in range(size) if r not in queens]

    def fill(k):
        if k == len(rows):
            return True
        r = rows[k]
        for c in range(size):
            if c in cols or r - c in diag or r + c in anti or (r, c) in blocked:
                continue
            queens[r] = c
            cols.add(c), diag.add(r - c), anti.add(r + c)
            if fill(k + 1):
                return True
            del queens[r]
            cols.discard(c), diag.discard(r - c), anti.discard(r + c)
        return False

    return sorted(queens.items()) if fill(0) else None


def _read_instance(path: Path) -> tuple[int, list[Cell], list[Cell]]:
    """Board size, placed queens and blocked cells. The size is the number of rows of
    `initial_board` ('0' empty, '1' queen, 'X' blocked), which must agree with the listed positions."""
    data = json.loads(path.read_text())
    placed = [tuple(q) for q in data.get("placed_queens", [])]
    blocked = [tuple(b) for b in data.get("blocked_positions", [])]
    board = data["initial_board"]
    size = len(board)
    from_board = {(r, c): ch for r, row in enumerate(board) for c, ch in enumerate(row) if ch != "0"}
    expected = {**{q: "1" for q in placed}, **{b: "X" for b in blocked}}
    if from_board != expected or any(len(row) != size for row in board):
        raise ValueError(f"{path}: initial_board disagrees with placed_queens/blocked_positions")
    return size, placed, blocked


def _question(size: int, placed: list[Cell], blocked: list[Cell]) -> str:
    rows = [["."] * size for _ in range(size)]
    for r, c in placed:
        rows[r][c] = "Q"
    for r, c in blocked:
        rows[r][c] = "X"
    board = "\n".join("".join(row) for row in rows)
    last = size - 1
    return (
        f"The chessboard below has {size} rows and {size} columns, one line per row from row 0 at the "
        f"top to row {last} at the bottom; within a line, columns run from 0 on the left to {last} on the right. "
        "'Q' is a queen that is already placed, 'X' is a blocked cell where no queen may stand, and "
        f"'.' is an empty cell.\n\n{board}\n\n"
        f"Complete the board to {size} queens so that no two queens share a row, a column or a "
        "diagonal. The queens already placed must stay where they are, and no queen may stand on a "
        "blocked cell.\n\n"
        f"Give the final answer inside <<< and >>> as the positions of all {size} queens (including "
        "those already placed), each written as `row column` with 0-based indices and separated by "
        "commas, for example <<<0 3, 1 0, 2 4, ...>>>."
    )


register_task(EightQueens)
