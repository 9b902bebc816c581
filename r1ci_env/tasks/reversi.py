"""Reversi (SymBench): play a few given moves from the opening position and report the board.

The board is n*n (n even) with the four centre cells filled as in Reversi (black 0 on the
anti-diagonal, white 1 on the diagonal); black moves first. Each move places a piece and flips
every straight line (row, column or diagonal) of opponent pieces closed off by the new piece and
another piece of the mover. The answer is the final board flattened row by row, "*" for an empty
cell, compared cell by cell (EM); separators, brackets and line breaks are free, and rows may also
be written as strings such as "*10*".

Fix of a CodeSteer defect (`create_dataset_reversi.py`): its question shows, as "the previous round
of the game", the board *after* the moves (the generator prints the board object it has already
played on), so the stored answer is the shown board and the moves are meaningless. Here the
question shows the opening position the moves are played from; the stored answers of the official
instances are exactly the results of playing their moves from that position.
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

Move = list[int]  # [row, column], 1-based
COLOUR = {"0": "black (0)", "1": "white (1)"}


@dataclass
class ReversiConfig(SymBenchConfig):
    """Generator knobs. The defaults are boards of 4 or 6 (CodeSteer's) and 1-4 moves: CodeSteer's
    data uses 1-3 moves (its generator allows up to 4), but 1-3 moves from the opening give only
    about 130 different games, fewer than the 200 distinct questions every task must offer.

    board_sizes: the board sides drawn from (even numbers, at least 4).
    min_moves, max_moves: how many moves are played (at least 1). Each move is uniform among the
        mover's legal moves (those that flip at least one piece); a player with no legal move
        passes, and the game stops early if neither can move.
    instances: official instances (`<dir>/sample_<i>/solution.json` with `board_size`
        and 1-based `moves`, e.g. `symbench/reversi_dataset`).
    """

    board_sizes: tuple[int, ...] = (4, 6)
    min_moves: int = 1
    max_moves: int = 4


class Reversi(SymBenchTask):
    name = "Reversi"
    category = "execution"
    checker = "EM"
    config_class = ReversiConfig
    config: ReversiConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not c.board_sizes or any(size < 4 or size % 2 for size in c.board_sizes):
            raise ValueError("Reversi board_sizes must be even numbers >= 4")
        self.check_range("moves", low=1)

    def read_instance(self, path: Path, instance_id: str) -> tuple[int, list[dict]]:
        """The board size and moves of an official instance; players alternate from black, and every
        move is checked to be legal."""
        data = json.loads(path.read_text())
        size = data["board_size"]
        player, moves = "0", []
        for row, column in data["moves"]:
            if (row - 1, column - 1) not in legal_moves(play(size, moves), player):
                raise ValueError(f"{path}: move {(row, column)} is not legal for {COLOUR[player]}")
            moves.append({"player": player, "row": row, "column": column})
            player = _other(player)
        return size, moves

    def build(self, problem: tuple[int, list[dict]], instance_id: str) -> Instance:
        size, moves = problem
        board = play(size, moves)
        return Instance(
            question=_question(size, moves),
            gold=[cell for row in board for cell in row],
            instance_id=instance_id,
            metadata={"size": size, "moves": moves},
        )

    def sample(self, rng: Random) -> tuple[int, list[dict]]:
        c = self.config
        size = rng.choice(c.board_sizes)
        player, moves = "0", []
        for _ in range(rng.randint(c.min_moves, c.max_moves)):
            board = play(size, moves)
            options = legal_moves(board, player)
            if not options:
                player = _other(player)
                options = legal_moves(board, player)
                if not options:
                    break
            row, column = rng.choice(options)
            moves.append({"player": player, "row": row + 1, "column": column + 1})
            player = _other(player)
        return size, moves

    def score(self, answer: str, instance: Instance) -> float:
        cells = split_cells(answer)
        size = instance.metadata["size"]
        if len(cells) == size and all(len(cell) == size for cell in cells):
            cells = [char for cell in cells for char in cell]
        return 1.0 if cells == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        m = instance.metadata
        return solver_program(
            play,
            comment="Set up the opening position and play each move, flipping the enclosed lines.",
            main=f"board = play({m['size']!r}, {m['moves']!r})\n"
            + "print(','.join(cell for row in board for cell in row))\n",
        )


def play(size, moves):
    """The board (rows of "*", "0", "1") after playing `moves` (dicts with "player" and 1-based
    "row" and "column") from the opening position of a size*size board."""
    board = [["*"] * size for _ in range(size)]
    mid = size // 2
    board[mid - 1][mid - 1] = board[mid][mid] = "1"
    board[mid - 1][mid] = board[mid][mid - 1] = "0"
    for move in moves:
        player, row, column = move["player"], move["row"] - 1, move["column"] - 1
        opponent = "1" if player == "0" else "0"
        board[row][column] = player
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                line, r, c = [], row + dr, column + dc
                while (dr or dc) and 0 <= r < size and 0 <= c < size and board[r][c] == opponent:
                    line.append((r, c))
                    r, c = r + dr, c + dc
                if line and 0 <= r < size and 0 <= c < size and board[r][c] == player:
                    for fr, fc in line:
                        board[fr][fc] = player
    return board


def opening(size: int) -> list[list[str]]:
    return play(size, [])


def _other(player: str) -> str:
    return "1" if player == "0" else "0"


def _flips(board: list[list[str]], row: int, column: int, player: str) -> int:
    size, opponent, total = len(board), _other(player), 0
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            count, r, c = 0, row + dr, column + dc
            while (dr or dc) and 0 <= r < size and 0 <= c < size and board[r][c] == opponent:
                count, r, c = count + 1, r + dr, c + dc
            if count and 0 <= r < size and 0 <= c < size and board[r][c] == player:
                total += count
    return total


def legal_moves(board: list[list[str]], player: str) -> list[tuple[int, int]]:
    """0-based cells where `player` may move: empty and flipping at least one piece."""
    return [
        (r, c)
        for r in range(len(board))
        for c in range(len(board))
        if board[r][c] == "*" and _flips(board, r, c, player)
    ]


def _question(size: int, moves: list[dict]) -> str:
    board = "\n".join("".join(row) for row in opening(size))
    lines = "\n".join(
        f"Move {i}: {COLOUR[m['player']]} plays at ({m['row']}, {m['column']})" for i, m in enumerate(moves, 1)
    )
    return (
        f"A game like Reversi is played on a {size}x{size} board. Black pieces are written 0, white "
        "pieces 1 and empty cells *. The game starts from this position (one row per line):\n"
        f"{board}\n\n"
        "Players place one piece per move on an empty cell. After a piece is placed, look along each of "
        "the eight directions (up, down, left, right and the four diagonals): if the new piece is "
        "followed by an unbroken line of one or more opponent pieces and then a piece of the mover's "
        "own colour, every opponent piece in that line is flipped to the mover's colour. Positions "
        "are written (row, column), counted from 1 at the top-left corner. These moves are played, "
        f"in order (each one is legal):\n{lines}\n\n"
        f"What does the board look like after the last move? Give it flattened row by row as {size * size} "
        f"comma-separated cells (0, 1 or *) inside <<< and >>>, for example <<<{','.join(['*'] * (size * size))}>>>."
    )


register_task(Reversi)
