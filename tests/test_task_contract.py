"""The contract every registered task keeps: deterministic generation, enough distinct questions,
a reference solution the checker scores 1.0, and 0.0 for an empty answer.

Distinct questions: a finite pool (`num_questions()`) must show min(200, pool) distinct questions; an
unbounded generator is first sampled (`SAMPLE` seeds, fewer for the slow Reasoning-Gym generators):
repeats within what a uniform pool of 200 questions would give on average pass at once; otherwise
(a small or uneven pool) the first 1000 seeds must show 200 distinct questions, as for finite pools."""
from __future__ import annotations

import pytest

from r1ci_env import suites
from r1ci_env.tasks import make_task, task_names, task_spec

from task_helpers import run_reference

DISTINCT_WANTED = 200
SEEDS = 1000
SAMPLE = 40
SLOW_SAMPLE = 12
SLOW = {"rg.knight_swap", "rg.futoshiki", "rg.zebra_puzzles", "rg.sokoban", "rg.intermediate_integration"}


# The checker type of each SymBench task (TASKS.md): EM compares with a stored answer, CK verifies any
# valid answer. Source and category come from the frozen suites.
SYMBENCH_CHECKERS = {
    "BlocksWorld": "CK", "BoxLift": "CK", "BoxNet": "CK", "CombinatorialCalculation": "CK",
    "ConstrainedLinearArrangement": "CK", "Cryptanalysis": "EM", "EightQueens": "CK", "Game24": "CK",
    "Game2048": "EM", "GSMHard": "EM", "LetterLogicDiagram": "CK", "Letters": "EM", "LightPuzzles": "EM",
    "LogicalEquation": "CK", "LogicalPuzzle": "CK", "Mahjong": "EM", "MathCountingProbability": "EM",
    "MathGeometry": "EM", "MatrixTransformation": "EM", "NewOperator": "EM", "NumberMultiply": "EM",
    "PathPlan": "CK", "PatternRecognition": "EM", "PermutationsCombinations": "CK", "Pooling": "EM",
    "Reversi": "EM", "StandardSudoku": "CK", "StatisticalCounting": "EM", "StringDeletionModification": "EM",
    "StringInsertion": "EM", "StringSplitting": "EM", "StringSynthesis": "EM", "SynthesisDecomposition": "EM",
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
    instance = task.generate(seed)
    assert task.score(run_reference(task, instance), instance) == 1.0
    assert task.score("", instance) == 0.0
