"""Blocksworld (SymBench): rearrange lettered blocks between stacks into a goal configuration.

Generated like CodeSteer's data set (every block goes to a uniformly random stack in the initial
and in the goal state) or served from the official instances with `instances=<dir>`. The checker
simulates the plan; any plan that reaches the goal scores 1.0.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

State = dict[str, list[str]]  # stack name ("stack1", ...) -> blocks from bottom to top


@dataclass
class BlocksWorldConfig(SymBenchConfig):
    """Generator knobs. Each instance draws one (blocks, initial stacks, goal stacks) shape uniformly
    from all shapes within the ranges that satisfy goal stacks <= initial stacks. The defaults are
    CodeSteer's 24 shapes (2-4 blocks, 3-5 initial stacks, 2-4 goal stacks).

    min_blocks, max_blocks: number of blocks (1-26, named A, B, C, ...).
    min_initial_stacks, max_initial_stacks: stacks in the initial state (at least 3, which makes
        every goal reachable); moves may use all of them.
    min_goal_stacks, max_goal_stacks: stacks the goal state lists; the others must end empty.
    instances: official instances (`<dir>/<blocks>_<init>_<goal>_<i>/blocksworld_task.txt`).
    """

    min_blocks: int = 2
    max_blocks: int = 4
    min_initial_stacks: int = 3
    max_initial_stacks: int = 5
    min_goal_stacks: int = 2
    max_goal_stacks: int = 4


class BlocksWorld(SymBenchTask):
    name = "BlocksWorld"
    category = "planning"
    checker = "CK"
    config_class = BlocksWorldConfig
    config: BlocksWorldConfig
    instance_file = "blocksworld_task.txt"

    def validate_config(self) -> None:
        c = self.config
        if not 1 <= c.min_blocks <= c.max_blocks <= len(string.ascii_uppercase):
            raise ValueError("BlocksWorld needs 1 <= min_blocks <= max_blocks <= 26")
        self.check_range("initial_stacks", low=3)
        self.check_range("goal_stacks", low=1)
        if c.min_goal_stacks > c.max_initial_stacks:
            raise ValueError("BlocksWorld needs min_goal_stacks <= max_initial_stacks")
        self.shapes = [
            (blocks, initial, goal)
            for blocks in range(c.min_blocks, c.max_blocks + 1)
            for initial in range(c.min_initial_stacks, c.max_initial_stacks + 1)
            for goal in range(c.min_goal_stacks, min(c.max_goal_stacks, initial) + 1)
        ]

    def sample(self, rng: Random) -> tuple[State, State]:
        return _random_problem(rng, self.shapes)

    def read_instance(self, path: Path, instance_id: str) -> tuple[State, State]:
        return parse_task_file(path)

    def build(self, problem: tuple[State, State], instance_id: str) -> Instance:
        initial, goal = problem
        metadata = {
            "num_blocks": sum(map(len, initial.values())),
            "initial_stacks": len(initial),
            "goal_stacks": len(goal),
        }
        return Instance(
            question=_question(initial, goal),
            gold={"initial": initial, "goal": goal},
            instance_id=instance_id,
            metadata=metadata,
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if plan_reaches_goal(answer, instance.gold["initial"], instance.gold["goal"]) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return solver_program(
            plan_moves,
            comment="Build the goal stacks bottom-up, parking blocks that are in the way on other stacks.",
            main=f"initial = {instance.gold['initial']!r}\ngoal = {instance.gold['goal']!r}\n"
            + "print('\\n'.join(plan_moves(initial, goal)))\n",
        )


# ---------------------------------------------------------------- generation and question


def _random_state(rng: Random, blocks: list[str], num_stacks: int) -> State:
    state: State = {f"stack{i}": [] for i in range(1, num_stacks + 1)}
    for block in blocks:
        state[f"stack{rng.randint(1, num_stacks)}"].append(block)
    return state


def _random_problem(rng: Random, shapes: list[tuple[int, int, int]]) -> tuple[State, State]:
    """A random (initial, goal) pair of one random shape whose non-empty stacks differ."""
    num_blocks, initial_stacks, goal_stacks = rng.choice(shapes)
    blocks = list(string.ascii_uppercase[:num_blocks])
    while True:
        initial = _random_state(rng, blocks, initial_stacks)
        goal = _random_state(rng, blocks, goal_stacks)
        if _non_empty(initial) != _non_empty(goal):
            return initial, goal


def _format_state(state: State) -> str:
    return "\n".join(f"{name}: {' '.join(blocks)}".rstrip() for name, blocks in state.items())


def _question(initial: State, goal: State) -> str:
    blocks = sorted(b for stack in initial.values() for b in stack)
    return (
        f"Blocks {', '.join(blocks)} sit in stacks. Every stack is written from its bottom block to its "
        "top block; a stack with nothing after the colon is empty.\n\n"
        f"Initial state:\n{_format_state(initial)}\n\n"
        f"Goal state:\n{_format_state(goal)}\n\n"
        "Plan a sequence of moves that turns the initial state into the goal state. A move lifts the "
        "top block of one stack and puts it on top of a different stack. Only one block moves at a "
        "time, a block with anything on it cannot move, and blocks may only go onto the stacks of the "
        "initial state (there is no table). Stacks that the goal state does not list must be empty at "
        "the end.\n\n"
        "Write one move per line as `Move <block> from <source stack> to <destination stack>`, for "
        "example `Move B from stack3 to stack1`, and put the whole list of moves inside <<< and >>>."
    )


# ---------------------------------------------------------------- official files


def parse_task_file(path: Path) -> tuple[State, State]:
    """The (initial, goal) states of a CodeSteer `blocksworld_task.txt`."""
    sections: dict[str, State] = {}
    current: State | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            continue
        heading = line.rstrip(":").strip().lower()
        if heading in ("initial state", "goal state"):
            current = sections.setdefault(heading, {})
        elif current is not None and ":" in line:
            name, _, blocks = line.partition(":")
            current[name.strip()] = blocks.split()
        else:
            raise ValueError(f"{path}: unexpected line {raw!r}")
    initial, goal = sections.get("initial state"), sections.get("goal state")
    if not initial or not goal:
        raise ValueError(f"{path}: needs an 'Initial State:' and a 'Goal State:' section")
    if sorted(sum(initial.values(), [])) != sorted(sum(goal.values(), [])) or not set(goal) <= set(initial):
        raise ValueError(f"{path}: the goal must use the same blocks and a subset of the initial stacks")
    return initial, goal


# ---------------------------------------------------------------- checker and solver


def _non_empty(state: State) -> State:
    return {name: list(blocks) for name, blocks in state.items() if blocks}


def _stack_name(token: str) -> str:
    token = token.lower()
    return token if token.startswith("stack") else f"stack{token}"


_MOVE_NUMBERING = re.compile(r"^\s*(?:\d+\s*[.):]|[-*])\s*")


def plan_reaches_goal(plan: str, initial: State, goal: State) -> bool:
    """Simulate `plan` (lines `Move X from S to D`, any case, optionally numbered "1." / "1)" / "-"
    and ending in a full stop; "2" means "stack2"; blank lines ignored) from `initial`; True iff
    every move is legal and the non-empty stacks end equal to the goal's."""
    stacks = {name: list(blocks) for name, blocks in initial.items()}
    for line in plan.splitlines():
        tokens = _MOVE_NUMBERING.sub("", line).strip().removesuffix(".").split()
        if not tokens:
            continue
        if len(tokens) != 6 or [tokens[0].lower(), tokens[2].lower(), tokens[4].lower()] != ["move", "from", "to"]:
            return False
        block, src, dst = tokens[1], _stack_name(tokens[3]), _stack_name(tokens[5])
        if src not in stacks or dst not in stacks or not stacks[src] or stacks[src][-1].casefold() != block.casefold():
            return False
        stacks[dst].append(stacks[src].pop())
    return _non_empty(stacks) == _non_empty(goal)


def plan_moves(initial, goal):
    """Moves (as 'Move X from S to D' lines) that turn `initial` into `goal`; both map stack names
    to blocks bottom-to-top. Needs at least three stacks. Each round places one more block on the
    settled bottom part of its goal stack, choosing the block with the fewest blocks in the way."""
    stacks = {name: list(blocks) for name, blocks in initial.items()}
    target = {name: list(goal.get(name, [])) for name in stacks}
    moves = []

    def settled(name):
        n = 0
        while n < min(len(stacks[name]), len(target[name])) and stacks[name][n] == target[name][n]:
            n += 1
        return n

    def holder(block):
        return next(name for name, blocks in stacks.items() if block in blocks)

    def move(src, dst):
        block = stacks[src].pop()
        stacks[dst].append(block)
        moves.append(f"Move {block} from {src} to {dst}")

    def park(src, *avoid):
        # Prefer stacks whose top is already out of place, then the lowest one.
        options = [n for n in stacks if n != src and n not in avoid]
        dst = min(options, key=lambda n: (settled(n) == len(stacks[n]) and bool(target[n]), len(stacks[n])))
        move(src, dst)

    def cost(job):
        name, block = job
        src = holder(block)
        return len(stacks[name]) - settled(name) + len(stacks[src]) - stacks[src].index(block)

    while True:
        jobs = [(name, target[name][settled(name)]) for name in stacks if settled(name) < len(target[name])]
        if not jobs:
            return moves
        name, block = min(jobs, key=cost)
        src = holder(block)
        while stacks[src][-1] != block:
            park(src, name)
        if src == name:  # the block sits too high on its own goal stack: lift it off first
            park(name)
            src = holder(block)
        while len(stacks[name]) > settled(name):
            park(name, src)
        move(src, name)


register_task(BlocksWorld)
