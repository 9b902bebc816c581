"""Path Plan (SymBench): waypoints for a robot in a walled 3 x 3 room with coloured boxes, entering
some boxes and avoiding others.

The room is the square [-1.5, 1.5] x [-1.5, 1.5] whose border is four walls 0.1 thick, so the robot
moves inside (-1.4, 1.4) x (-1.4, 1.4). Boxes are axis-aligned rectangles (x_start, x_end, y_start,
y_end). An instruction asks to enter some boxes (in a given order, or in any order) and never to
enter others. The trajectory is the polyline through the waypoints; it enters a box when it touches
the closed rectangle anywhere (boundary included), and it must never touch a wall.

CodeSteer's 140 instances (14 box layouts x 10 instructions) are hard-coded in its benchmark
script, not shipped as data, so there is no official data directory and no `instances=` knob: the
instances are generated here (boxes on a 0.1 grid with free corridors between them, start and end on
a 0.05 grid outside every box), and each generated instruction is checked to be feasible by the
reference planner.

Checking rules and the CodeSteer defects fixed: the first and last waypoints must be the start and
end positions (compared exactly as decimals), no segment may touch a wall, every box to enter must
be touched and every box to avoid must not be. CodeSteer decides "touches" with a strict
orientation test of whether a segment crosses one of the rectangle's edges, so a trajectory that
runs along an edge, stops on it or grazes a corner can count as not touching (an avoided box
or a wall can be grazed, a box to enter only grazed is not counted); here each segment is clipped
against the closed rectangle exactly, in rational arithmetic.
CodeSteer also never checks the order of visits; here an instruction that gives an order ("then ...
in this order") is checked in that order (each box entered at or after the time the previous one
was), while an unordered one accepts any order. Waypoints may be written `(x, y)` or `[x, y]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from random import Random

from .base import Instance, Task, TaskConfig
from .common import generated_id, seeded_rng
from .registry import register_task
from .symbench import solver_program

COLORS = ("red", "blue", "green", "yellow", "pink", "purple", "orange", "brown")
WALLS = ((-1.5, -1.4, -1.5, 1.5), (1.4, 1.5, -1.5, 1.5), (-1.5, 1.5, -1.5, -1.4), (-1.5, 1.5, 1.4, 1.5))
MAX_WAYPOINTS = 10_000
MAX_ANSWER_LENGTH = 200_000

_NUMBER = r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*"
_PAIR = re.compile(rf"[(\[]{_NUMBER},{_NUMBER}[)\]]")


@dataclass
class PathPlanConfig(TaskConfig):
    """Generator knobs. Each instance places `num_boxes` boxes of distinct colours (sides 0.3-0.9,
    on a 0.1 grid, at least 0.1 apart and 0.1 away from the walls), a start and an end outside every
    box, and an instruction with a uniform number of boxes to enter and to avoid; redrawn until the
    reference planner can follow it. CodeSteer's layouts have 7 boxes and instructions entering 1-4
    boxes and avoiding 0-6.

    num_boxes: boxes in the room (2-8).
    min_enter, max_enter: boxes the robot must enter (at least 1).
    min_avoid, max_avoid: boxes the robot must never enter.
    ordered_probability: chance that the boxes to enter must be entered in the listed order.
    """

    num_boxes: int = 7
    min_enter: int = 1
    max_enter: int = 3
    min_avoid: int = 0
    max_avoid: int = 3
    ordered_probability: float = 0.5


class PathPlan(Task):
    name = "PathPlan"
    source = "symbench"
    category = "planning"
    checker = "CK"
    config_class = PathPlanConfig
    config: PathPlanConfig

    def validate_config(self) -> None:
        c = self.config
        if not 2 <= c.num_boxes <= len(COLORS):
            raise ValueError(f"PathPlan needs 2 <= num_boxes <= {len(COLORS)}")
        if not 1 <= c.min_enter <= c.max_enter or not 0 <= c.min_avoid <= c.max_avoid:
            raise ValueError("PathPlan needs 1 <= min_enter <= max_enter and 0 <= min_avoid <= max_avoid")
        if c.min_enter + c.min_avoid > c.num_boxes:
            raise ValueError("PathPlan needs min_enter + min_avoid <= num_boxes")
        if not 0.0 <= c.ordered_probability <= 1.0:
            raise ValueError("PathPlan needs 0 <= ordered_probability <= 1")

    def generate(self, seed: int) -> Instance:
        rng = seeded_rng(seed, self.name)
        while True:
            gold = self._random_problem(rng)
            if plan_path(gold["boxes"], gold["start"], gold["end"], gold["enter"], gold["ordered"], gold["avoid"]):
                break
        return Instance(
            question=_question(gold),
            gold=gold,
            instance_id=generated_id(seed),
            metadata={"enter": len(gold["enter"]), "avoid": len(gold["avoid"]), "ordered": gold["ordered"]},
        )

    def _random_problem(self, rng: Random) -> dict:
        c = self.config
        colors = rng.sample(COLORS, c.num_boxes)
        boxes = _random_boxes(rng, colors)
        covered = {(x, y) for b in boxes.values() for x in range(b[0], b[1] + 1) for y in range(b[2], b[3] + 1)}
        free = [(x, y) for x in range(-27, 28) for y in range(-27, 28) if (x, y) not in covered]
        while True:
            start, end = rng.sample(free, 2)
            if abs(start[0] - end[0]) + abs(start[1] - end[1]) >= 20:  # at least 1.0 apart
                break
        enter_count = rng.randint(c.min_enter, min(c.max_enter, c.num_boxes))
        avoid_count = rng.randint(
            min(c.min_avoid, c.num_boxes - enter_count), min(c.max_avoid, c.num_boxes - enter_count)
        )
        picked = rng.sample(colors, enter_count + avoid_count)
        return {
            "walls": [list(w) for w in WALLS],
            "boxes": {color: [_to_float(v) for v in box] for color, box in boxes.items()},
            "start": [_to_float(v) for v in start],
            "end": [_to_float(v) for v in end],
            "enter": picked[:enter_count],
            "ordered": enter_count > 1 and rng.random() < c.ordered_probability,
            "avoid": picked[enter_count:],
        }

    def score(self, answer: str, instance: Instance) -> float:
        waypoints = parse_waypoints(answer)
        if waypoints is None:
            return 0.0
        return 1.0 if trajectory_ok(waypoints, instance.gold) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        g = instance.gold
        return solver_program(
            plan_path,
            comment="Breadth-first search on a 0.05 grid inside the walls, leg by leg through the boxes to\n"
            "enter, never stepping into (or cutting a corner of) a box to avoid.",
            main=f"path = plan_path({g['boxes']!r}, {tuple(g['start'])!r}, {tuple(g['end'])!r}, "
            + f"{g['enter']!r}, {g['ordered']!r}, {g['avoid']!r})\n"
            + "print('[' + ', '.join(f'({x}, {y})' for x, y in path) + ']')\n",
        )


# ---------------------------------------------------------------- generation (integer units of 0.05)


def _to_float(units: int) -> float:
    return round(units * 0.05, 2)


def _random_boxes(rng: Random, colors: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Boxes in units of 0.05: corners on the 0.1 grid within [-1.3, 1.3], sides 0.3-0.9, at least
    0.1 apart."""
    while True:
        boxes: dict[str, tuple[int, int, int, int]] = {}
        for color in colors:
            for _ in range(200):
                w, h = 2 * rng.randint(3, 9), 2 * rng.randint(3, 9)
                x0, y0 = 2 * rng.randint(-13, 13 - w // 2), 2 * rng.randint(-13, 13 - h // 2)
                box = (x0, x0 + w, y0, y0 + h)
                if all(
                    box[1] + 2 <= b[0] or b[1] + 2 <= box[0] or box[3] + 2 <= b[2] or b[3] + 2 <= box[2]
                    for b in boxes.values()
                ):
                    boxes[color] = box
                    break
            else:
                break
        if len(boxes) == len(colors):
            return boxes


# ---------------------------------------------------------------- checker (exact)


def parse_waypoints(answer: str) -> list[tuple[Fraction, Fraction]] | None:
    """The waypoints of `[(x0, y0), (x1, y1), ...]` (round or square brackets, one list), exact, or None."""
    if len(answer) > MAX_ANSWER_LENGTH:
        return None
    text = answer.strip()
    pairs = _PAIR.findall(text)
    rest = _PAIR.sub(" ", text)
    outside = re.sub(r"[\s,]", "", rest)  # what is left around the pairs: nothing, or one outer bracket pair
    if not pairs or len(pairs) > MAX_WAYPOINTS or outside not in ("", "[]", "()"):
        return None
    return [(Fraction(x), Fraction(y)) for x, y in pairs]


def _clip(p: tuple[Fraction, Fraction], q: tuple[Fraction, Fraction], box) -> tuple[Fraction, Fraction] | None:
    """The parameter interval [t0, t1] within [0, 1] where p + t (q - p) lies in the closed box."""
    low, high = Fraction(0), Fraction(1)
    for axis, (lo, hi) in enumerate(((box[0], box[1]), (box[2], box[3]))):
        start, delta = p[axis], q[axis] - p[axis]
        if delta == 0:
            if not lo <= start <= hi:
                return None
            continue
        a, b = (lo - start) / delta, (hi - start) / delta
        low, high = max(low, min(a, b)), min(high, max(a, b))
        if low > high:
            return None
    return low, high


def trajectory_ok(waypoints: list[tuple[Fraction, Fraction]], gold: dict) -> bool:
    """True iff the polyline starts and ends right, never touches a wall, touches every box to enter
    (in order when the instruction is ordered) and never touches a box to avoid."""
    exact = lambda values: [Fraction(repr(float(v))) for v in values]  # noqa: E731 - decimals as written
    start, end = tuple(exact(gold["start"])), tuple(exact(gold["end"]))
    if len(waypoints) < 2 or waypoints[0] != start or waypoints[-1] != end:
        return False
    segments = list(zip(waypoints, waypoints[1:]))
    walls = [exact(w) for w in gold["walls"]]
    if any(_clip(p, q, wall) for p, q in segments for wall in walls):
        return False
    boxes = {color: exact(box) for color, box in gold["boxes"].items()}
    if any(_clip(p, q, boxes[color]) for p, q in segments for color in gold["avoid"]):
        return False
    time = Fraction(0)  # position along the polyline: segment index + parameter
    for color in gold["enter"]:
        visits = []  # the times at which the polyline is in the box, one interval per segment
        for i, (p, q) in enumerate(segments):
            span = _clip(p, q, boxes[color])
            if span:
                visits.append((i + span[0], i + span[1]))
        if not gold["ordered"]:
            if not visits:
                return False
            continue
        later = [max(time, t0) for t0, t1 in visits if t1 >= time]
        if not later:
            return False
        time = min(later)
    return True


# ---------------------------------------------------------------- reference planner


def plan_path(boxes, start, end, enter, ordered, avoid):
    """Waypoints from `start` to `end` entering the boxes in `enter` (in that order if `ordered`,
    else always the nearest box not yet entered next) and never touching those in `avoid`, or None.
    Boxes are (x_start, x_end, y_start, y_end) with corners on a 0.1 grid and sides of at least 0.1;
    start and end lie on a 0.05 grid; the room's free space is (-1.4, 1.4)^2.

    Breadth-first search, one leg per box, over the points whose coordinates are odd multiples of
    0.05 (never on a box edge), moving to the 8 neighbours 0.1 away; a diagonal move needs all four
    corners of its square clear, which keeps it off every box to avoid. Start and end join the
    nearest clear grid point; straight runs are then merged."""
    from collections import deque

    unit = lambda v: round(v * 20)  # noqa: E731 - coordinates in units of 0.05
    rects = {color: tuple(unit(v) for v in box) for color, box in boxes.items()}
    blocked = [rects[color] for color in avoid]
    odd = range(-27, 28, 2)  # -1.35 .. 1.35: clear of the walls at +-1.4

    def inside(point, rect):
        return rect[0] <= point[0] <= rect[1] and rect[2] <= point[1] <= rect[3]

    def clear(point):
        return not any(inside(point, r) for r in blocked)

    free = {(x, y) for x in odd for y in odd if clear((x, y))}
    neighbours = {}

    def around(point):
        if point not in neighbours:
            x, y = point
            options = []
            for dx, dy in ((2, 0), (-2, 0), (0, 2), (0, -2), (2, 2), (2, -2), (-2, 2), (-2, -2)):
                nxt = (x + dx, y + dy)
                if nxt in free and (not (dx and dy) or ((x + dx, y) in free and (x, y + dy) in free)):
                    options.append(nxt)
            neighbours[point] = options
        return neighbours[point]

    def attach(point):
        """The grid point next to `point` whose square with it is clear (point itself if on the grid)."""
        if point in free:
            return point
        x, y = point
        for gx in [x] if x % 2 else [x - 1, x + 1]:
            for gy in [y] if y % 2 else [y - 1, y + 1]:
                if (gx, gy) in free and clear((gx, y)) and clear((x, gy)) and clear(point):
                    return gx, gy
        return None

    def leg(source, goals):
        """The shortest grid path from `source` to a grid point in one of the rects `goals`, or to
        the point `goals[0]` when it is a point."""
        goal_at = {}
        for g in goals:
            if len(g) == 2:
                goal_at[g] = g
            else:
                for point in free:
                    if inside(point, g):
                        goal_at.setdefault(point, g)
        parent = {source: None}
        queue = deque([source])
        while queue:
            point = queue.popleft()
            reached = goal_at.get(point)
            if reached is not None:
                path = []
                while point is not None:
                    path.append(point)
                    point = parent[point]
                return path[::-1], reached
            for nxt in around(point):
                if nxt not in parent:
                    parent[nxt] = point
                    queue.append(nxt)
        return None, None

    first, last = (unit(start[0]), unit(start[1])), (unit(end[0]), unit(end[1]))
    entry, exit_ = attach(first), attach(last)
    if entry is None or exit_ is None:
        return None
    path = [first, entry] if entry != first else [first]
    todo = [rects[color] for color in enter]
    while todo:
        piece, reached = leg(path[-1], todo[:1] if ordered else todo)
        if piece is None:
            return None
        path += piece[1:]
        todo.remove(reached)
    piece, _ = leg(path[-1], [exit_])
    if piece is None:
        return None
    path += piece[1:]
    if exit_ != last:
        path.append(last)

    def heading(a, b):
        return (b[0] > a[0]) - (b[0] < a[0]), (b[1] > a[1]) - (b[1] < a[1])

    corners = [path[0]]
    for a, b, c in zip(path, path[1:], path[2:]):
        if heading(a, b) != heading(b, c):
            corners.append(b)
    corners.append(path[-1])
    return [(round(x * 0.05, 2), round(y * 0.05, 2)) for x, y in corners]


# ---------------------------------------------------------------- question


def _names(colors: list[str]) -> str:
    words = [f"the {c} box" for c in colors]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _instruction(gold: dict) -> str:
    enter, avoid = gold["enter"], gold["avoid"]
    if len(enter) == 1:
        text = f"Enter the {enter[0]} box."
    elif gold["ordered"]:
        text = f"Enter the {enter[0]} box, " + ", ".join(f"then the {c} box" for c in enter[1:]) + ", in this order."
    else:
        text = f"Enter each of {_names(enter)} at some point, in any order."
    if avoid:
        text += " Never enter " + _names(avoid).replace(" and ", " or ") + "."
    return text


def _point(p: list[float]) -> str:
    return f"({p[0]}, {p[1]})"


def _question(gold: dict) -> str:
    walls = "; ".join(str(tuple(w)) for w in gold["walls"])
    boxes = "\n".join(f"- {color} box: {tuple(box)}" for color, box in gold["boxes"].items())
    return (
        "Plan a trajectory for a mobile robot in a square room. Every region below is an axis-aligned "
        "rectangle written as (x_start, x_end, y_start, y_end): x runs from x_start to x_end and y from "
        "y_start to y_end.\n\n"
        f"Walls (black): {walls}.\n"
        f"Boxes:\n{boxes}\n\n"
        f"The robot starts at {_point(gold['start'])} and must stop at {_point(gold['end'])}.\n"
        f"Instruction: {_instruction(gold)}\n\n"
        "The trajectory is made of straight segments joining consecutive waypoints. It enters a box "
        "when any point of it, including a point of a segment between waypoints, lies in the box or on "
        "its boundary; a box to avoid must therefore not even be touched. The trajectory must never "
        "touch a wall. Boxes the instruction does not mention may be crossed freely.\n\n"
        "Give the final answer inside <<< and >>> as the list of waypoints, starting with the start "
        "position and ending with the end position, for example <<<[(-1.3, -1.3), (0.45, 0.2), "
        "(1.3, 1.3)]>>>."
    )


register_task(PathPlan)
