"""BoxNet (SymBench): plan the actions of agents on a grid, one per square, that push coloured boxes
to neighbouring squares or drop them onto a target of the same colour.

Squares are named by their centres `square[r+0.5, c+0.5]` (row first); the agent in a square is
`Agent[r+0.5, c+0.5]`. Per step each agent may do one action on a box in its own square:
`move(box_<colour>, square[x, y])` to a square sharing a side, or `move(box_<colour>, target_<colour>)`
when a target of that colour is in the same square (box and target then both disappear). Generated
like CodeSteer's data set (every box and every target of each colour dropped on a uniformly random
square); `instances=<dir>` serves CodeSteer's instances
(`BoxNet1_dataset/env_pg_state_<rows>_<cols>/pg_state<i>/pg_state<i>.json`, a map from `"r_c"`
centres to item lists; there is no stored solution).

Checking rules and the CodeSteer defects fixed: the answer is a JSON list of per-step objects
`{"Agent[0.5, 0.5]": "move(box_blue, square[0.5, 1.5])", ...}`; it is simulated and scores 1.0 when
no box is left. Every agent acts on what its square held at the start of the step, so a box cannot
be moved twice in one step (CodeSteer applies the actions one after another, so that a box pushed
into a square can be used again by that square's agent in the same step, depending on key order).
CodeSteer silently skips impossible actions; here an action on a box that is not in the agent's
square, a move to a square that is not a neighbour, a drop without a matching target, an unknown
agent or a repeated agent key makes the plan fail. Python-literal quoting is accepted as well as
JSON, and a single step may be given without the enclosing list.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from random import Random

from .base import Instance
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

MAX_ANSWER_LENGTH = 200_000
Cells = dict[str, list[str]]  # "r+0.5_c+0.5" -> items such as "box_red", "target_red"

_NUM = r"\s*(\d+(?:\.\d+)?)\s*"
_AGENT = re.compile(rf"agent\s*\[{_NUM},{_NUM}\]", re.IGNORECASE)
_ACTION = re.compile(
    rf"move\s*\(\s*(box_\w+)\s*,\s*(?:(target_\w+)|square\s*[\[(]{_NUM},{_NUM}[\])])\s*\)", re.IGNORECASE
)


@dataclass
class BoxNetConfig(SymBenchConfig):
    """Generator knobs. Each instance picks a grid shape uniformly; every colour gets a uniform number
    of boxes, and each box and each target of that colour goes to a uniformly random square.

    shapes: (rows, columns) pairs; the default is CodeSteer's test grids 1x2, 2x2 and 2x4 (its data
        also has 4x4 and 4x8).
    colors: the box colours.
    min_boxes_per_color, max_boxes_per_color: boxes (and as many targets) of each colour; CodeSteer's
        data has 1-3.
    instances: official instances (`<dir>/env_pg_state_<r>_<c>/pg_state<i>/pg_state<i>.json`,
        e.g. `symbench/BoxNet1_dataset`).
    """

    shapes: tuple[tuple[int, int], ...] = ((1, 2), (2, 2), (2, 4))
    colors: tuple[str, ...] = ("blue", "red", "green", "purple", "orange")
    min_boxes_per_color: int = 1
    max_boxes_per_color: int = 3


class BoxNet(SymBenchTask):
    name = "BoxNet"
    category = "planning"
    checker = "CK"
    config_class = BoxNetConfig
    config: BoxNetConfig
    instance_file = "{folder}.json"

    def validate_config(self) -> None:
        c = self.config
        if not c.shapes or any(len(s) != 2 or s[0] < 1 or s[1] < 1 or s[0] * s[1] < 2 for s in c.shapes):
            raise ValueError("BoxNet needs shapes of (rows, columns) with at least two squares")
        if not c.colors or len(set(c.colors)) != len(c.colors) or not all(re.fullmatch(r"[a-z]+", x) for x in c.colors):
            raise ValueError("BoxNet needs distinct lower-case colour names")
        if not 0 <= c.min_boxes_per_color <= c.max_boxes_per_color or c.max_boxes_per_color == 0:
            raise ValueError("BoxNet needs 0 <= min_boxes_per_color <= max_boxes_per_color, max >= 1")

    def read_instance(self, path: Path, instance_id: str) -> tuple[int, int, Cells]:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not data:
            raise ValueError(f"{path}: expected a map from square centres to item lists")
        coords = []
        for key, items in data.items():
            parts = key.split("_")
            well_formed = isinstance(items, list) and all(re.fullmatch(r"(box|target)_[a-z]+", i) for i in items)
            if len(parts) != 2 or not well_formed:
                raise ValueError(f"{path}: bad square {key!r}")
            coords.append(tuple(int(float(p) - 0.5) for p in parts))
        rows, cols = max(r for r, _ in coords) + 1, max(c for _, c in coords) + 1
        cells = {_key(r, c): list(data.get(_key(r, c), [])) for r in range(rows) for c in range(cols)}
        if len(cells) != len(data) or set(cells) != set(data):
            raise ValueError(f"{path}: the squares do not form a full grid")
        boxes = Counter(i[4:] for items in cells.values() for i in items if i.startswith("box_"))
        targets = Counter(i[7:] for items in cells.values() for i in items if i.startswith("target_"))
        if any(targets[color] < n for color, n in boxes.items()):
            raise ValueError(f"{path}: some box has no target of its colour")
        return rows, cols, cells

    def build(self, problem: tuple[int, int, Cells], instance_id: str) -> Instance:
        rows, cols, cells = problem
        boxes = sum(item.startswith("box_") for items in cells.values() for item in items)
        return Instance(
            question=_question(rows, cols, cells),
            gold={"rows": rows, "cols": cols, "cells": cells},
            instance_id=instance_id,
            metadata={"rows": rows, "cols": cols, "boxes": boxes},
        )

    def sample(self, rng: Random) -> tuple[int, int, Cells]:
        c = self.config
        rows, cols = rng.choice(list(c.shapes))
        while True:
            cells: Cells = {_key(r, col): [] for r in range(rows) for col in range(cols)}
            names = list(cells)
            for color in c.colors:
                for _ in range(rng.randint(c.min_boxes_per_color, c.max_boxes_per_color)):
                    cells[rng.choice(names)].append(f"box_{color}")
                    cells[rng.choice(names)].append(f"target_{color}")
            if any(cells.values()):
                return rows, cols, cells

    def score(self, answer: str, instance: Instance) -> float:
        gold = instance.gold
        return 1.0 if plan_clears_boxes(answer, gold["rows"], gold["cols"], gold["cells"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        gold = instance.gold
        return solver_program(
            plan_boxnet,
            comment="Greedy: every step each agent drops a box on a matching target in its square if it can,\n"
            "otherwise pushes one box a square closer to the nearest target of its colour.",
            main=f"import json\n\nplan = plan_boxnet({gold['rows']!r}, {gold['cols']!r}, {gold['cells']!r})\n"
            + "print(json.dumps(plan))\n",
        )


def _key(r: int, c: int) -> str:
    return f"{r + 0.5}_{c + 0.5}"


def _cell(x: str, y: str, rows: int, cols: int) -> str | None:
    """The key of the square centred at (x, y), or None when there is no such square."""
    fx, fy = Fraction(x) - Fraction(1, 2), Fraction(y) - Fraction(1, 2)
    if fx.denominator != 1 or fy.denominator != 1 or not (0 <= fx < rows and 0 <= fy < cols):
        return None
    return _key(int(fx), int(fy))


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("repeated key")
    return dict(pairs)


def parse_plan(answer: str) -> list[dict[str, str]] | None:
    """The per-step action objects of an answer (JSON, or Python literals), or None."""
    if len(answer) > MAX_ANSWER_LENGTH:
        return None
    try:
        plan = json.loads(answer, object_pairs_hook=_no_duplicate_keys)
    except ValueError:
        try:
            tree = ast.parse(answer.strip(), mode="eval")
            for node in ast.walk(tree):
                if isinstance(node, ast.Dict) and len({ast.dump(k) for k in node.keys if k}) != len(node.keys):
                    return None
            plan = ast.literal_eval(tree)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    if isinstance(plan, dict):
        plan = [plan]
    if not isinstance(plan, (list, tuple)) or not all(
        isinstance(step, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in step.items())
        for step in plan
    ):
        return None
    return list(plan)


def plan_clears_boxes(answer: str, rows: int, cols: int, cells: Cells) -> bool:
    """Simulate the plan; True iff every action is possible and no box is left at the end."""
    plan = parse_plan(answer)
    if plan is None:
        return False
    state = {key: Counter(items) for key, items in cells.items()}
    for step in plan:
        start = {key: Counter(items) for key, items in state.items()}
        acted: set[str] = set()
        for agent, action in step.items():
            a = _AGENT.fullmatch(agent.strip())
            m = _ACTION.fullmatch(action.strip())
            if not a or not m:
                return False
            here = _cell(a.group(1), a.group(2), rows, cols)
            if here is None or here in acted:
                return False
            acted.add(here)
            box, target, x, y = m.groups()
            box = box.lower()
            if start[here][box] <= 0:
                return False
            if target is not None:
                if target.lower() != "target_" + box[4:] or start[here][target.lower()] <= 0:
                    return False
                state[here][box] -= 1
                state[here][target.lower()] -= 1
            else:
                there = _cell(x, y, rows, cols)
                if there is None:
                    return False
                (r1, c1), (r2, c2) = (map(Fraction, k.split("_")) for k in (here, there))
                if abs(r1 - r2) + abs(c1 - c2) != 1:
                    return False
                state[here][box] -= 1
                state[there][box] += 1
    return not any(n > 0 for items in state.values() for item, n in items.items() if item.startswith("box_"))


def plan_boxnet(rows, cols, cells):
    """A plan (list of {"Agent[x, y]": "move(...)"} steps) that clears every box, for a grid whose
    squares are keyed "x_y" (centres, x = row + 0.5) and hold items "box_<c>" / "target_<c>". Each
    step, each agent drops a box onto a same-colour target in its square if there is one, else pushes
    a box (one with a target of its colour somewhere) one square towards the nearest such target;
    agents act on what their square held at the start of the step."""
    state = {key: list(items) for key, items in cells.items()}
    coords = {key: tuple(int(float(v) - 0.5) for v in key.split("_")) for key in state}
    key_of = {rc: key for key, rc in coords.items()}
    plan = []

    def name(rc):
        return f"{rc[0] + 0.5}, {rc[1] + 0.5}"

    while any(item.startswith("box_") for items in state.values() for item in items):
        start = {key: list(items) for key, items in state.items()}
        targets = {}
        for key, items in start.items():
            for item in items:
                if item.startswith("target_"):
                    targets.setdefault(item[7:], []).append(coords[key])
        step = {}
        for key, items in start.items():
            boxes = [item for item in items if item.startswith("box_") and item[4:] in targets]
            if not boxes:
                continue
            agent = f"Agent[{name(coords[key])}]"
            match = next((b for b in boxes if "target_" + b[4:] in items), None)
            if match:
                step[agent] = f"move({match}, target_{match[4:]})"
                state[key].remove(match)
                state[key].remove("target_" + match[4:])
                continue
            box = boxes[0]
            r, c = coords[key]
            tr, tc = min(targets[box[4:]], key=lambda t: (abs(t[0] - r) + abs(t[1] - c), t))
            nxt = (r + (tr > r) - (tr < r), c) if tr != r else (r, c + (tc > c) - (tc < c))
            step[agent] = f"move({box}, square[{name(nxt)}])"
            state[key].remove(box)
            state[key_of[nxt]].append(box)
        if not step:
            raise ValueError("some box has no target of its colour")
        plan.append(step)
    return plan


def _question(rows: int, cols: int, cells: Cells) -> str:
    lines = []
    for key, items in cells.items():
        x, y = key.split("_")
        lines.append(f"square[{x}, {y}]: {', '.join(items) if items else 'empty'}")
    return (
        f"A field of {rows} x {cols} squares holds coloured boxes and coloured targets. Each square is "
        "named by its centre, square[x, y], where x is the row index plus 0.5 and y the column index "
        "plus 0.5, and each square has one agent, Agent[x, y], who can only handle boxes in its own "
        "square. Current contents:\n" + "\n".join(lines) + "\n\nIn one step every agent may do at most one action:\n"
        "- move(box_<colour>, square[x, y]): push one box of that colour from its square to a square "
        "that shares a side with it (one of x and y differs by exactly 1);\n"
        "- move(box_<colour>, target_<colour>): put one box on a target of the same colour in its "
        "square; both disappear.\n"
        "All agents act at the same time, each on what its square held at the start of the step, so a "
        "box pushed into a square can be handled there from the next step on. Plan steps until no "
        "box is left; try to use few steps.\n\n"
        "Give the final answer inside <<< and >>> as a JSON list with one object per step, mapping "
        "each agent that acts to its action (leave out idle agents), for example\n"
        '<<<[{"Agent[0.5, 0.5]": "move(box_blue, square[0.5, 1.5])", "Agent[1.5, 0.5]": '
        '"move(box_red, target_red)"}, {"Agent[0.5, 1.5]": "move(box_blue, target_blue)"}]>>>'
    )


register_task(BoxNet)
