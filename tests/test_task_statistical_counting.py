"""StatisticalCounting: run scoring, knobs, the integer checker (official data: test_task_contract.py)."""

from __future__ import annotations

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.statistical_counting import StatisticalCounting, run_score

RULES = [{"letter": "A", "score": 1, "min_consecutive": 2}, {"letter": "B", "score": 2, "min_consecutive": 2}]


@pytest.mark.parametrize(
    "sequence, expected",
    [("BBAAB", 3), ("AAAA", 1), ("ABABAB", 0), ("AABAA", 2), ("BBBBBAA", 3), ("A", 0), ("CCAA", 1)],
)
def test_each_maximal_run_scores_once(sequence, expected):
    assert run_score(sequence, RULES) == expected


def test_min_run_threshold():
    rules = [{"letter": "A", "score": 5, "min_consecutive": 3}]
    assert run_score("AABAAAB", rules) == 5


def test_knobs_control_length_letters_run_and_scores():
    task = StatisticalCounting(
        min_length=30, max_length=31, min_letters=3, max_letters=3, min_run=3, random_scores=True, max_score=4
    )
    scores = set()
    for seed in range(30):
        m = task.generate(seed).metadata
        assert 30 <= len(m["sequence"]) <= 31 and set(m["sequence"]) <= set("ABC")
        assert [r["letter"] for r in m["rules"]] == list("ABC")
        assert all(r["min_consecutive"] == 3 and 1 <= r["score"] <= 4 for r in m["rules"])
        scores.update(r["score"] for r in m["rules"])
    assert len(scores) > 1
    default = StatisticalCounting().generate(0).metadata
    assert [r["score"] for r in default["rules"]] == list(range(1, len(default["rules"]) + 1))


def test_question_states_the_once_per_run_rule():
    instance = StatisticalCounting().generate(1)
    assert instance.metadata["sequence"] in instance.question
    assert "run scores once" in instance.question
    assert "every run of 2 or more consecutive A's scores 1 point\n" in instance.question


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = StatisticalCounting()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    assert task.score(str(int(answer) + 1), instance) == 0.0


@pytest.mark.parametrize(
    "answer, expected",
    [("12", 1.0), (" 12 ", 1.0), ("+12", 1.0), ("12.0", 0.0), ("13", 0.0), ("12 points", 0.0), ("", 0.0)],
)
def test_checker(answer, expected):
    assert StatisticalCounting().score(answer, Instance("", 12, "t")) == expected
