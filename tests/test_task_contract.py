"""The contract every registered task keeps: deterministic generation, enough distinct questions,
a reference solution the checker scores 1.0, and 0.0 for an empty answer; for the exact-match tasks
whose gold comes from the function the reference ships, CodeSteer's stored answers as well.

Distinct questions: a finite pool (`num_questions()`) must show min(200, pool) distinct questions; an
unbounded generator is first sampled (`SAMPLE` seeds, fewer for the slow Reasoning-Gym generators):
repeats within what a uniform pool of 200 questions would give on average pass at once; otherwise
(a small or uneven pool) the first 1000 seeds must show 200 distinct questions, as for finite pools."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest
from task_helpers import run_reference

from r1ci_env import suites
from r1ci_env.tasks import make_task, task_names, task_spec

DISTINCT_WANTED = 200
SEEDS = 1000
SAMPLE = 40
SLOW_SAMPLE = 12
SLOW = {"rg.knight_swap", "rg.futoshiki", "rg.zebra_puzzles", "rg.sokoban", "rg.intermediate_integration"}


# The checker type of each SymBench task (TASKS.md): EM compares with a stored answer, CK verifies any
# valid answer. Source and category come from the frozen suites.
SYMBENCH_CHECKERS = {
    "BlocksWorld": "CK",
    "BoxLift": "CK",
    "BoxNet": "CK",
    "CombinatorialCalculation": "CK",
    "ConstrainedLinearArrangement": "CK",
    "Cryptanalysis": "EM",
    "EightQueens": "CK",
    "Game24": "CK",
    "Game2048": "EM",
    "GSMHard": "EM",
    "LetterLogicDiagram": "CK",
    "Letters": "EM",
    "LightPuzzles": "EM",
    "LogicalEquation": "CK",
    "LogicalPuzzle": "CK",
    "Mahjong": "EM",
    "MathCountingProbability": "EM",
    "MathGeometry": "EM",
    "MatrixTransformation": "EM",
    "NewOperator": "EM",
    "NumberMultiply": "EM",
    "PathPlan": "CK",
    "PatternRecognition": "EM",
    "PermutationsCombinations": "CK",
    "Pooling": "EM",
    "Reversi": "EM",
    "StandardSudoku": "CK",
    "StatisticalCounting": "EM",
    "StringDeletionModification": "EM",
    "StringInsertion": "EM",
    "StringSplitting": "EM",
    "StringSynthesis": "EM",
    "SynthesisDecomposition": "EM",
}


def test_symbench_tasks_are_registered_with_their_paper_labels():
    assert set(SYMBENCH_CHECKERS) == set(suites.SYMBENCH)
    for name, checker in SYMBENCH_CHECKERS.items():
        spec = task_spec(name)
        assert (spec.source, spec.category, spec.checker) == ("symbench", suites.SYMBENCH_CATEGORIES[name], checker)


@pytest.fixture(params=task_names(), scope="module")
def name(request):
    return request.param


@pytest.fixture(scope="module")
def task(name):
    return make_task(name)


def test_same_seed_gives_the_same_instance(name, task):
    assert task.generate(7) == make_task(name).generate(7)
    assert task.generate(7) != task.generate(8)


def test_enough_distinct_questions(name, task):
    pool = task.num_questions()
    if pool is None:
        draws = SLOW_SAMPLE if name in SLOW else SAMPLE
        repeats = draws - len({task.generate(seed).question for seed in range(draws)})
        # expected repeats of `draws` uniform draws from a pool of DISTINCT_WANTED: about draws^2 / (2 * pool)
        if repeats <= draws * (draws - 1) / (2 * DISTINCT_WANTED):
            return
    wanted = min(DISTINCT_WANTED, pool or DISTINCT_WANTED)
    seen = set()
    for seed in range(SEEDS):  # stops as soon as enough distinct questions have appeared
        seen.add(task.generate(seed).question)
        if len(seen) >= wanted:
            break
    assert len(seen) >= wanted


@pytest.mark.parametrize("seed", range(3))
def test_reference_solution_scores_one_and_empty_answer_zero(task, seed):
    """For the round-trip tasks (ROUND_TRIP_TASKS below) this checks printing and parsing only."""
    instance = task.generate(seed)
    assert task.score(run_reference(task, instance), instance) == 1.0
    assert task.score("", instance) == 0.0


# ---------------------------------------------------------------- invalid knobs
# task -> knob sets its config must reject with ValueError
INVALID_KNOBS = {
    "BlocksWorld": [
        {"min_initial_stacks": 2},
        {"min_blocks": 0},
        {"max_blocks": 27},
        {"min_goal_stacks": 6, "max_goal_stacks": 6},
        {"min_blocks": 4, "max_blocks": 3},
    ],
    "BoxLift": [
        {"configs": ()},
        {"configs": ((5, 2, 10, 5, 1, 2),)},
        {"configs": ((5, 1, 100, 200, 10, 20),)},
        {"configs": ((5, 1, 1),)},
    ],
    "BoxNet": [
        {"shapes": ((1, 1),)},
        {"colors": ()},
        {"colors": ("Red",)},
        {"min_boxes_per_color": 2, "max_boxes_per_color": 1},
    ],
    "CombinatorialCalculation": [{"shapes": ()}, {"shapes": ((1, 5),)}, {"min_number": 5, "max_number": 4}],
    "ConstrainedLinearArrangement": [
        {"games": ()},
        {"games": ("chess",)},
        {"min_rounds": 0},
        {"games": ("stick_game",), "min_rounds": 5, "max_rounds": 5},
    ],
    "Cryptanalysis": [{"min_conditions": 0}, {"min_conditions": 5, "max_conditions": 4}, {"max_conditions": 2}],
    "EightQueens": [
        {"min_complexity": 0},
        {"max_complexity": 6},
        {"size": 3},
        {"max_placed": 0, "max_blocked": 1, "min_complexity": 3},
    ],
    "Game24": [{"count": 1}, {"count": 7}, {"min_number": 5, "max_number": 4}],
    "Game2048": [
        {"min_size": 1},
        {"min_moves": 0},
        {"min_tiles": 0},
        {"min_tiles": 5},
        {"min_tiles": 3, "max_tiles": 2},
        {"max_power": 0},
    ],
    "LetterLogicDiagram": [
        {"min_blanks": 0},
        {"max_blanks": 50},
        {"min_blanks": 9, "max_blanks": 8},
        {"unique": True, "max_blanks": 40},
    ],
    "Letters": [
        {"min_length": 0},
        {"min_count": 3, "max_count": 2},
        {"letters": "A"},
        {"letters": ""},
        {"min_count": 30, "max_count": 30},
    ],
    "LightPuzzles": [
        {"min_size": 1},
        {"max_buttons": 27},
        {"min_buttons": 0},
        {"min_presses": 0},
        {"min_presses": 3, "max_presses": 2},
    ],
    "LogicalEquation": [{"shapes": ()}, {"shapes": ((1, 1),)}, {"min_value": 0}, {"min_value": 1, "max_value": 5}],
    "LogicalPuzzle": [{"min_complexity": 0}, {"max_complexity": 11}, {"min_complexity": 5, "max_complexity": 4}],
    "Mahjong": [
        {"min_rounds": 0},
        {"min_rounds": 3, "max_rounds": 2},
        {"hand_size": 2},
        {"hand_size": 53},
        {"pattern_bias": 1.5},
    ],
    "MatrixTransformation": [
        {"min_rows": 0},
        {"min_cols": 3, "max_cols": 2},
        {"charsets": ("emoji",)},
        {"turns": 4},
        {"max_rows": 1, "min_rows": 1, "max_cols": 1, "min_cols": 1},
    ],
    "NewOperator": [
        {"min_operators": 0},
        {"max_operators": 7},
        {"min_operands": 1},
        {"max_operands": 2, "min_operators": 2},
        {"formulas": ("cube",)},
        {"formulas": ()},
        {"min_number": -1},
        {"max_coefficient": 0},
    ],
    "NumberMultiply": [{"min_count": 1}, {"min_count": 4, "max_count": 3}, {"min_digits": 0}],
    "PathPlan": [
        {"num_boxes": 1},
        {"num_boxes": 9},
        {"min_enter": 0},
        {"min_avoid": 3, "max_avoid": 2},
        {"num_boxes": 3, "min_enter": 2, "min_avoid": 2},
        {"ordered_probability": 1.5},
    ],
    "PatternRecognition": [
        {"min_square": 1},
        {"min_square": 7},
        {"max_square": 2},
        {"alphabet_size": 1},
        {"alphabet_size": 27},
        {"min_rows": 9, "max_rows": 8},
    ],
    "PermutationsCombinations": [{"min_items": 1}, {"max_items": 27}, {"min_constraints": 3, "max_constraints": 2}],
    "Pooling": [
        {"min_size": 1},
        {"min_window": 0},
        {"min_window": 6},
        {"pooling_types": ("min",)},
        {"min_value": 3, "max_value": 2},
    ],
    "Reversi": [
        {"board_sizes": (5,)},
        {"board_sizes": (2,)},
        {"board_sizes": ()},
        {"min_moves": 0},
        {"min_moves": 3, "max_moves": 2},
    ],
    "StandardSudoku": [
        {"min_blanks": 0},
        {"max_blanks": 82, "unique": False},
        {"max_blanks": 60},
        {"min_blanks": 9, "max_blanks": 8},
    ],
    "StatisticalCounting": [
        {"min_length": 0},
        {"max_letters": 27},
        {"min_letters": 0},
        {"min_run": 1},
        {"max_score": 0},
    ],
    "StringDeletionModification": [
        {"num_rules": 0},
        {"num_rules": 21},
        {"min_length": 0},
        {"min_length": 9, "max_length": 8},
        {"min_steps": -1},
    ],
    "StringInsertion": [
        {"min_insertions": 0},
        {"min_insertions": 4, "max_insertions": 3},
        {"max_separator": 0},
        {"max_padding": -1},
    ],
    "StringSplitting": [{"min_count": -1}, {"min_count": 5, "max_count": 4}, {"max_count": 0}],
    "StringSynthesis": [{"min_count": -1}, {"min_count": 5, "max_count": 4}, {"max_count": 0}],
    "SynthesisDecomposition": [
        {"recipes": []},
        {"recipes": ["nope"]},
        {"recipes": "two_crops"},
        {"min_count": 5, "max_count": 4},
        {"max_count": 0},
    ],
}


def test_every_symbench_task_with_knobs_lists_invalid_ones():
    with_knobs = {
        name
        for name in SYMBENCH_CHECKERS
        if {f.name for f in dataclasses.fields(task_spec(name).cls.config_class)} - {"instances"}
    }
    assert set(INVALID_KNOBS) == with_knobs


@pytest.mark.parametrize("name, knobs", [(name, knobs) for name, sets in INVALID_KNOBS.items() for knobs in sets])
def test_invalid_knobs_are_rejected(name, knobs):
    with pytest.raises(ValueError):
        make_task(name, **knobs)


# ---------------------------------------------------------------- official gold for round-trip tasks
# In these exact-match tasks `generate()` computes the gold with the very function the reference
# program ships, so `test_reference_solution_scores_one_and_empty_answer_zero` is only a round trip:
# it fails on printing or parsing, never on a wrong solver. Each is therefore checked against
# CodeSteer's stored answers (computed by CodeSteer's own code): every official instance's stored
# answer must score 1.0 and a one-cell perturbation of it 0.0.


def _cells(values: list) -> str:
    return ",".join(map(str, values))


def _bump(values: list, seed: int, change) -> list:
    """`values` with the cell `seed % len` replaced by `change(cell)`."""
    i = seed % len(values)
    return [change(v) if j == i else v for j, v in enumerate(values)]


# task -> (official directory, instance count, stored answer, perturbed stored answer)
OFFICIAL_GOLD = {
    "Pooling": (
        "symbench/pooling_dataset",
        200,
        lambda s, _: _cells(v for row in s["solution"] for v in row),
        lambda s, k: _cells(_bump([v for row in s["solution"] for v in row], k, lambda v: v + 1)),
    ),
    "Reversi": (
        "symbench/reversi_dataset",
        200,
        lambda s, _: s["solution"],
        lambda s, k: _cells(_bump(s["solution"].split(","), k, {"*": "0", "0": "1", "1": "*"}.get)),
    ),
    "MatrixTransformation": (
        "symbench/matrix_transformation_dataset",
        200,
        lambda s, _: s["formatted_solution"],
        lambda s, k: _cells(_bump(s["formatted_solution"].split(","), k, lambda v: "Z" if v != "Z" else "Y")),
    ),
    "LightPuzzles": (
        "symbench/light_puzzles_dataset",
        200,
        lambda s, _: _cells(s["solution"]),
        lambda s, k: _cells(_bump(s["solution"], k, lambda v: v ^ 1)),
    ),
    "StatisticalCounting": (
        "symbench/statistical_counting_dataset",
        200,
        lambda s, _: str(s["solution"]),
        lambda s, _: str(s["solution"] + 1),
    ),
    "StringSplitting": (
        "symbench/string_splitting",
        200,
        lambda s, _: json.dumps(s["expected_answer"]),
        lambda s, _: json.dumps(_bump(s["expected_answer"], 3, lambda n: str(int(n) + 1))),
    ),
}
# The other round-trip tasks keep this check in their own file, beside the data defects it handles.
OFFICIAL_GOLD_ELSEWHERE = {
    "Cryptanalysis": "test_task_cryptanalysis.py",
    "Game2048": "test_task_game_2048.py",
    "Mahjong": "test_task_mahjong.py",
    "NewOperator": "test_task_new_operator.py",
    "StringDeletionModification": "test_task_string_deletion_modification.py",
    "StringInsertion": "test_task_string_insertion.py",
    "StringSynthesis": "test_task_string_synthesis.py",
    "SynthesisDecomposition": "test_task_synthesis_decomposition.py",
}
ROUND_TRIP_TASKS = {
    "Pooling",
    "Reversi",
    "Game2048",
    "MatrixTransformation",
    "LightPuzzles",
    "Mahjong",
    "NewOperator",
    "Cryptanalysis",
    "StatisticalCounting",
    "SynthesisDecomposition",
    "StringInsertion",
    "StringSplitting",
    "StringSynthesis",
    "StringDeletionModification",
}


def test_every_round_trip_task_has_an_independent_check():
    assert set(OFFICIAL_GOLD) | set(OFFICIAL_GOLD_ELSEWHERE) == ROUND_TRIP_TASKS
    for file in OFFICIAL_GOLD_ELSEWHERE.values():
        tree = ast.parse((Path(__file__).parent / file).read_text())
        assert "test_official_instances" in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, file


@pytest.mark.parametrize("name", sorted(OFFICIAL_GOLD))
def test_stored_official_answers_score_one_and_perturbed_zero(name, data_dir):
    directory, count, answer, perturbed = OFFICIAL_GOLD[name]
    task = make_task(name, instances=directory)
    assert task.num_questions() == count
    for seed in range(count):
        instance = task.generate(seed)
        stored = json.loads((data_dir / directory / instance.instance_id / "solution.json").read_text())
        assert task.score(answer(stored, seed), instance) == 1.0, instance.instance_id
        assert task.score(perturbed(stored, seed), instance) == 0.0, instance.instance_id
        if seed % 10 == 0:
            assert task.score(run_reference(task, instance), instance) == 1.0, instance.instance_id
