"""Light Puzzles (SymBench): toggle lights on an n*n grid by pressing buttons, report the final grid.

Each button flips a fixed set of lights (1 = on, 0 = off); the buttons are pressed in a given order
and the answer is the final grid flattened row by row (n*n values). The checker compares the
values exactly (EM); separators, brackets and line breaks are free, and the rows may also be
written as strings of digits ("0110").
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

Cell = list[int]  # [row, column], 1-based


@dataclass
class LightPuzzlesConfig(SymBenchConfig):
    """Generator knobs. The defaults cover CodeSteer's sets: n = 2-5, 1-3 buttons, 1-4 presses.

    min_size, max_size: the grid side n (at least 2).
    min_buttons, max_buttons: how many buttons (named A, B, C, ...; at most 26). Each controls
        between 2 and max(2, n*n // 2) distinct lights, drawn uniformly.
    min_presses, max_presses: how many button presses (rounds) there are; each press picks a
        button uniformly.
    instances: official instances (`<dir>/sample_<i>/solution.json` with `n`,
        `initial_state`, `buttons` and `operations`, e.g. `symbench/light_puzzles_dataset`).
    """

    min_size: int = 2
    max_size: int = 5
    min_buttons: int = 1
    max_buttons: int = 3
    min_presses: int = 1
    max_presses: int = 4


class LightPuzzles(SymBenchTask):
    name = "LightPuzzles"
    category = "execution"
    checker = "EM"
    config_class = LightPuzzlesConfig
    config: LightPuzzlesConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        self.check_range("size", low=2)
        if not 1 <= c.min_buttons <= c.max_buttons <= len(string.ascii_uppercase):
            raise ValueError("LightPuzzles needs 1 <= min_buttons <= max_buttons <= 26")
        self.check_range("presses", low=1)

    def read_instance(self, path: Path, instance_id: str) -> tuple[list[list[int]], dict[str, list[Cell]], list[str]]:
        data = json.loads(path.read_text())
        n, grid, buttons, presses = data["n"], data["initial_state"], data["buttons"], data["operations"]
        cells_ok = all(1 <= r <= n and 1 <= c <= n for cells in buttons.values() for r, c in cells)
        if len(grid) != n or any(len(row) != n for row in grid) or not cells_ok or not set(presses) <= set(buttons):
            raise ValueError(f"{path}: inconsistent light puzzle")
        return grid, {name: [list(cell) for cell in cells] for name, cells in buttons.items()}, presses

    def build(self, problem: tuple[list[list[int]], dict[str, list[Cell]], list[str]], instance_id: str) -> Instance:
        grid, buttons, presses = problem
        final = press_buttons(grid, buttons, presses)
        return Instance(
            question=_question(grid, buttons, presses),
            gold=[value for row in final for value in row],
            instance_id=instance_id,
            metadata={"grid": grid, "buttons": buttons, "presses": presses, "size": len(grid)},
        )

    def sample(self, rng: Random) -> tuple[list[list[int]], dict[str, list[Cell]], list[str]]:
        c = self.config
        n = rng.randint(c.min_size, c.max_size)
        grid = [[rng.randint(0, 1) for _ in range(n)] for _ in range(n)]
        cells = [[r, col] for r in range(1, n + 1) for col in range(1, n + 1)]
        names = string.ascii_uppercase[: rng.randint(c.min_buttons, c.max_buttons)]
        buttons = {name: rng.sample(cells, rng.randint(2, max(2, n * n // 2))) for name in names}
        presses = [rng.choice(names) for _ in range(rng.randint(c.min_presses, c.max_presses))]
        return grid, buttons, presses

    def score(self, answer: str, instance: Instance) -> float:
        values = _answer_values(answer, instance.metadata["size"])
        return 1.0 if values == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        m = instance.metadata
        return solver_program(
            press_buttons,
            comment="Replay the presses: each press flips every light its button controls.",
            main=f"grid = {m['grid']!r}\nbuttons = {m['buttons']!r}\npresses = {m['presses']!r}\n"
            + "final = press_buttons(grid, buttons, presses)\n"
            + "print(','.join(str(v) for row in final for v in row))\n",
        )


def press_buttons(grid, buttons, presses):
    """The grid (rows of 0/1) after pressing `presses` in order; `buttons` maps a name to the
    [row, column] cells (1-based) it flips."""
    state = [list(row) for row in grid]
    for name in presses:
        for row, column in buttons[name]:
            state[row - 1][column - 1] ^= 1
    return state


def _answer_values(answer: str, size: int) -> list[int] | None:
    """The n*n values of an answer: one 0/1 per cell, or one string of n digits per row."""
    cells = split_cells(answer)
    if len(cells) == size and all(len(cell) == size for cell in cells):
        cells = [digit for cell in cells for digit in cell]
    if len(cells) != size * size or any(cell not in ("0", "1") for cell in cells):
        return None
    return [int(cell) for cell in cells]


def _question(grid: list[list[int]], buttons: dict[str, list[Cell]], presses: list[str]) -> str:
    n = len(grid)
    rows = "\n".join("".join(map(str, row)) for row in grid)
    button_lines = "\n".join(
        f"Button {name}: " + ", ".join(f"({r}, {c})" for r, c in cells) for name, cells in buttons.items()
    )
    press_lines = "\n".join(f"Press {i}: button {name}" for i, name in enumerate(presses, 1))
    return (
        f"A {n}x{n} grid of lights is shown below, one row per line; 1 is a light that is on and 0 "
        f"one that is off.\n{rows}\n\n"
        "Each button flips (on becomes off, off becomes on) every light in its list. Cells are "
        f"written (row, column), counted from 1 at the top-left corner. Several buttons may control "
        f"the same light.\n{button_lines}\n\n"
        f"The buttons are pressed in this order:\n{press_lines}\n\n"
        f"What is the state of the grid after the last press? Give it flattened row by row as {n * n} "
        f"comma-separated 0/1 values inside <<< and >>>; for example <<<{','.join(['0'] * (n * n))}>>> "
        "would mean every light is off."
    )


register_task(LightPuzzles)
