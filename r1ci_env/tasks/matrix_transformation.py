"""Matrix Transformation (SymBench): rotate a matrix of single characters 90 degrees clockwise.

The answer is the rotated matrix flattened row by row, its cells separated by commas ("J,Q,H,R"),
compared cell by cell (EM). Spaces, line breaks, brackets and quotes around cells are ignored, so
"[[J, Q], [H, R]]" is the same answer. The character sets never contain a separator, bracket or
quote, so this leniency cannot turn a wrong answer into a right one.
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

CHARACTER_SETS = {
    "letters": string.ascii_uppercase,
    "numbers": string.digits[1:],
    "mixed": string.ascii_uppercase + string.digits[1:],
    "symbols": "!@#$%^&*",
}


@dataclass
class MatrixTransformationConfig(SymBenchConfig):
    """Generator knobs. The defaults cover CodeSteer's sets (2x2 to 4x4, four character sets).

    min_rows, max_rows, min_cols, max_cols: the matrix shape (at least 1x1); rows and columns are
        drawn independently.
    charsets: the character sets drawn from (one per instance): "letters" (A-Z), "numbers"
        (1-9), "mixed" (both) and "symbols" (!@#$%^&*).
    turns: clockwise quarter turns (1 = 90 degrees, CodeSteer's task; 2 or 3 for 180 or 270).
    instances: official instances (`<dir>/sample_<i>/solution.json` with `matrix`,
        e.g. `symbench/matrix_transformation_dataset`), absolute or relative to the data directory;
        when set, the shape and character knobs are ignored (`turns` still applies).
    """

    min_rows: int = 2
    max_rows: int = 4
    min_cols: int = 2
    max_cols: int = 4
    charsets: tuple[str, ...] = ("letters", "numbers", "mixed", "symbols")
    turns: int = 1


class MatrixTransformation(SymBenchTask):
    name = "MatrixTransformation"
    category = "execution"
    checker = "EM"
    config_class = MatrixTransformationConfig
    config: MatrixTransformationConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not 1 <= c.min_rows <= c.max_rows or not 1 <= c.min_cols <= c.max_cols:
            raise ValueError("MatrixTransformation needs 1 <= min_rows <= max_rows and 1 <= min_cols <= max_cols")
        if c.max_rows * c.max_cols < 2:
            raise ValueError("MatrixTransformation needs room for at least two cells")
        if not c.charsets or not set(c.charsets) <= set(CHARACTER_SETS):
            raise ValueError(f"MatrixTransformation charsets must be a non-empty subset of {tuple(CHARACTER_SETS)}")
        if c.turns not in (1, 2, 3):
            raise ValueError("MatrixTransformation needs turns in (1, 2, 3)")

    def sample(self, rng: Random) -> list[list[str]]:
        c = self.config
        rows, cols = rng.randint(c.min_rows, c.max_rows), rng.randint(c.min_cols, c.max_cols)
        chars = CHARACTER_SETS[rng.choice(c.charsets)]
        return [[rng.choice(chars) for _ in range(cols)] for _ in range(rows)]

    def read_instance(self, path: Path, instance_id: str) -> list[list[str]]:
        matrix = json.loads(path.read_text())["matrix"]
        forbidden = set(",;[](){}\"'`")
        if (
            not matrix
            or any(len(row) != len(matrix[0]) for row in matrix)
            or any(len(cell) != 1 or cell.isspace() or cell in forbidden for row in matrix for cell in row)
        ):
            raise ValueError(f"{path}: expected a rectangular matrix of single, non-separator characters")
        return matrix

    def build(self, problem: list[list[str]], instance_id: str) -> Instance:
        c = self.config
        matrix = problem
        rotated = rotate(matrix, c.turns)
        return Instance(
            question=_question(matrix, c.turns),
            gold=",".join(cell for row in rotated for cell in row),
            instance_id=instance_id,
            metadata={"matrix": matrix, "turns": c.turns, "rows": len(matrix), "cols": len(matrix[0])},
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if split_cells(answer) == instance.gold.split(",") else 0.0

    def reference_solution(self, instance: Instance) -> str:
        m = instance.metadata
        return solver_program(
            rotate,
            comment="Rotate clockwise: the first column, read from the bottom up, becomes the first row.",
            main=f"matrix = {m['matrix']!r}\n"
            + f"print(','.join(cell for row in rotate(matrix, {m['turns']!r}) for cell in row))\n",
        )


def rotate(matrix, turns=1):
    """`matrix` (a list of rows) turned clockwise by `turns` quarter turns."""
    for _ in range(turns % 4):
        matrix = [list(row) for row in zip(*matrix[::-1])]
    return [list(row) for row in matrix]


def _question(matrix: list[list[str]], turns: int) -> str:
    rows = "\n".join(" ".join(row) for row in matrix)
    angle = {1: "90 degrees", 2: "180 degrees", 3: "270 degrees"}[turns]
    return (
        f"Here is a matrix with {len(matrix)} rows and {len(matrix[0])} columns; each cell is one "
        f"character and the cells of a row are separated by spaces:\n{rows}\n\n"
        f"Rotate the matrix {angle} clockwise. Give the rotated matrix flattened row by row (first "
        "the top row from left to right, then the next row, and so on) as comma-separated cells "
        "inside <<< and >>>; for example, a 2x2 result with top row A B and bottom row C D is "
        "written <<<A,B,C,D>>>."
    )


register_task(MatrixTransformation)
