"""The contract every registered task keeps: deterministic generation, enough distinct questions,
a reference solution the checker scores 1.0, and 0.0 for an empty answer."""
from __future__ import annotations

import pytest

from r1ci_env.tasks import make_task, task_names

from task_helpers import run_reference

DISTINCT_WANTED = 200
SEEDS = 1000


@pytest.fixture(params=task_names(), scope="module")
def name(request):
    return request.param


@pytest.fixture(scope="module")
def task(name):
    return make_task(name)


def test_same_seed_gives_the_same_instance(name, task):
    assert task.generate(7) == make_task(name).generate(7)
    assert task.generate(7) != task.generate(8)


def test_enough_distinct_questions(task):
    wanted = min(DISTINCT_WANTED, task.num_questions() or DISTINCT_WANTED)
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
