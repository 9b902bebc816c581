"""BlocksWorld: generation, the simulator checker, the reference planner, and the official instances."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import pytest

from r1ci_env.tasks import Instance
from r1ci_env.tasks.blocksworld import BlocksWorld, plan_moves, plan_reaches_goal

OFFICIAL = "symbench/Blocksworld_dataset"


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout


def exec_python(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"__name__": "__main__"})
    return out.getvalue()


def non_empty(state: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: blocks for name, blocks in state.items() if blocks}


def corrupt_first_move(plan: str) -> str:
    """Swap the block of the first move for another block, which cannot be on top of that stack."""
    lines = plan.strip().splitlines()
    words = lines[0].split()
    words[1] = "A" if words[1] != "A" else "B"
    return "\n".join([" ".join(words), *lines[1:]])


def test_same_seed_same_question_and_many_distinct():
    a, b = BlocksWorld(), BlocksWorld()
    assert a.generate(7) == b.generate(7)
    assert a.generate(7).question != a.generate(8).question
    assert len({a.generate(seed).question for seed in range(1000)}) >= 200


def test_generated_shapes_respect_knobs_and_goal_differs():
    task = BlocksWorld()
    shapes = set()
    for seed in range(300):
        inst = task.generate(seed)
        meta, gold = inst.metadata, inst.gold
        assert 2 <= meta["num_blocks"] <= 4 and 3 <= meta["initial_stacks"] <= 5
        assert 2 <= meta["goal_stacks"] <= min(4, meta["initial_stacks"])
        assert non_empty(gold["initial"]) != non_empty(gold["goal"])
        assert sorted(sum(gold["goal"].values(), [])) == sorted(sum(gold["initial"].values(), []))
        shapes.add((meta["num_blocks"], meta["initial_stacks"], meta["goal_stacks"]))
    assert len(shapes) == 24  # CodeSteer's 24 configurations


def test_question_states_rules_and_format():
    inst = BlocksWorld().generate(3)
    for stack, blocks in inst.gold["initial"].items():
        assert f"{stack}: {' '.join(blocks)}".rstrip() in inst.question
    assert "Move <block> from <source stack> to <destination stack>" in inst.question
    assert "<<<" in inst.question and ">>>" in inst.question


@pytest.mark.parametrize("seed", range(15))
def test_reference_solution_runs_and_scores_one(seed):
    task = BlocksWorld()
    inst = task.generate(seed)
    plan = run_python(task.reference_solution(inst))
    assert task.score(plan, inst) == 1.0
    assert task.score(corrupt_first_move(plan), inst) == 0.0
    assert task.score("\n".join(plan.splitlines()[:-1]), inst) == 0.0  # one move short


def test_planner_solves_large_instances():
    task = BlocksWorld(
        min_blocks=6, max_blocks=10, min_initial_stacks=3, max_initial_stacks=4, min_goal_stacks=1, max_goal_stacks=4
    )
    for seed in range(100):
        gold = task.generate(seed).gold
        assert plan_reaches_goal("\n".join(plan_moves(gold["initial"], gold["goal"])), gold["initial"], gold["goal"])


SWAP = Instance(
    question="",
    gold={"initial": {"stack1": ["A", "B"], "stack2": [], "stack3": []}, "goal": {"stack1": ["B", "A"], "stack2": []}},
    instance_id="swap",
)
SWAP_PLAN = "Move B from {p}1 to {p}3\nMove A from {p}1 to {p}2\nMove B from {p}3 to {p}1\nMove A from {p}2 to {p}1"


def test_checker_accepts_numbers_and_stack_names_and_whitespace():
    task = BlocksWorld()
    assert task.score(SWAP_PLAN.format(p="stack"), SWAP) == 1.0
    assert task.score(SWAP_PLAN.format(p=""), SWAP) == 1.0
    mixed = (
        "\n\n  move B from 1 to stack3  \nMove A FROM Stack1 to 2\n\nMove B from stack3 to 1\nMove A from 2 to stack1\n"
    )
    assert task.score(mixed, SWAP) == 1.0


def test_checker_rejects_table_even_where_it_would_work():
    plan = SWAP_PLAN.format(p="stack").replace("stack3", "table")
    assert BlocksWorld().score(plan, SWAP) == 0.0


@pytest.mark.parametrize(
    "plan",
    [
        "",  # no moves: goal not reached
        "Move A from stack1 to stack2",  # A is under B
        "Move B from stack9 to stack1",  # no such stack
        "Move B from stack1 to stack4",  # only stacks of the initial state exist
        "Move B stack1 to stack3",  # 5 tokens
        "Move B from stack1 to stack3 now",  # 7 tokens
        "Put B from stack1 to stack3",
        SWAP_PLAN.format(p="stack") + "\nMove A from stack1 to stack2",  # one move too many
        SWAP_PLAN.format(p="stack").replace("Move A from stack2 to stack1", "Move A from stack2 to stack3"),
    ],
)
def test_checker_rejects_bad_plans(plan):
    assert BlocksWorld().score(plan, SWAP) == 0.0


def test_empty_stacks_are_ignored_when_comparing_to_goal():
    # The goal lists two stacks; stack3 ends empty and is not listed: still a success.
    assert plan_reaches_goal(SWAP_PLAN.format(p="stack"), SWAP.gold["initial"], SWAP.gold["goal"])
    # A block left on a stack the goal does not list fails.
    goal = {"stack1": ["B"], "stack2": []}
    assert not plan_reaches_goal("Move B from stack1 to stack3", {"stack1": ["B"], "stack2": [], "stack3": []}, goal)


def test_unknown_knob_is_rejected():
    with pytest.raises(TypeError):
        BlocksWorld(num_blockz=3)


def test_official_instances_all_load_and_are_solved(data_dir):
    task = BlocksWorld(instances=str(data_dir / OFFICIAL))
    assert task.num_questions() == 120
    instances = [task.generate(seed) for seed in range(120)]
    folders = sorted(p.name for p in (data_dir / OFFICIAL).iterdir() if p.is_dir())
    assert sorted(inst.instance_id for inst in instances) == folders
    assert task.generate(120) == instances[0]
    for inst in instances:
        blocks, initial, goal, _ = map(int, inst.instance_id.split("_"))
        assert (inst.metadata["num_blocks"], inst.metadata["initial_stacks"], inst.metadata["goal_stacks"]) == (
            blocks,
            initial,
            goal,
        )
        plan = exec_python(task.reference_solution(inst))
        assert task.score(plan, inst) == 1.0, inst.instance_id
        if plan.strip():
            assert task.score(corrupt_first_move(plan), inst) == 0.0, inst.instance_id
        else:  # 2_3_2_2 starts in its goal state: no moves is right, any move is wrong
            assert inst.instance_id == "2_3_2_2"
            assert task.score("Move A from stack1 to stack3", inst) == 0.0


def test_official_file_is_parsed_exactly(data_dir):
    task = BlocksWorld(instances=OFFICIAL)  # relative to the data directory
    inst = task.generate(task.official.ids.index("4_5_4_4"))
    assert inst.instance_id == "4_5_4_4"
    assert inst.gold == {
        "initial": {"stack1": [], "stack2": ["C"], "stack3": [], "stack4": ["A"], "stack5": ["B", "D"]},
        "goal": {"stack1": [], "stack2": [], "stack3": ["A", "B", "C", "D"], "stack4": []},
    }
    assert "stack5: B D" in inst.question


def test_official_source_missing_or_empty_is_a_clear_error(tmp_path, data_dir):
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        BlocksWorld(instances=str(tmp_path / "no-such-dir"))
    with pytest.raises(FileNotFoundError, match="blocksworld_task.txt"):
        BlocksWorld(instances=str(tmp_path))
