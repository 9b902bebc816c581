"""Pooling: generation knobs, the pooling computation, the lenient-number checker, official data."""

from __future__ import annotations

from fractions import Fraction

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.pooling import Pooling, pool

OFFICIAL = "symbench/pooling_dataset"
MATRIX = [[1, 2, 3], [4, 5, 6], [7, 8, 10]]


def inst(kind: str, window: int = 2, matrix=MATRIX) -> Instance:
    result = pool(matrix, window, kind)
    return Instance(
        question="",
        gold=[str(v) for row in result for v in row],
        instance_id="t",
        metadata={"matrix": matrix, "window": window, "pooling_type": kind, "size": len(matrix)},
    )


def test_pool_computes_max_and_exact_average():
    assert pool(MATRIX, 2, "max") == [[5, 6], [8, 10]]
    assert pool(MATRIX, 2, "average") == [[3, 4], [6, pytest.approx(29 / 4)]]
    assert pool(MATRIX, 3, "average") == [[pytest.approx(46 / 9)]]


def test_knobs_control_size_window_type_and_values():
    task = Pooling(
        min_size=5, max_size=5, min_window=4, max_window=9, pooling_types=("average",), min_value=100, max_value=105
    )
    for seed in range(20):
        m = task.generate(seed).metadata
        assert m["size"] == 5 and m["window"] == 4 and m["pooling_type"] == "average"  # window capped at N-1
        assert all(100 <= v <= 105 for row in m["matrix"] for v in row)
    kinds = {(m["size"], m["window"], m["pooling_type"]) for m in (Pooling().generate(s).metadata for s in range(300))}
    assert {k for _, _, k in kinds} == {"max", "average"}
    assert {(n, w) for n, w, _ in kinds} == {(n, w) for n in range(3, 7) for w in (2, 3) if w < n}


def test_question_shows_matrix_window_and_answer_shape():
    instance = Pooling().generate(4)
    m = instance.metadata
    out = m["size"] - m["window"] + 1
    assert "\n".join(", ".join(map(str, row)) for row in m["matrix"]) in instance.question
    assert f"{m['window']}x{m['window']} window" in instance.question
    assert f"{out * out} comma-separated values" in instance.question and len(instance.gold) == out * out


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one_and_one_changed_cell_zero(seed):
    task = Pooling()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    cells = answer.split(",")
    cells[-1] = str(Fraction(cells[-1]) + 1)
    assert task.score(",".join(cells), instance) == 0.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("3,4,6,29/4", 1.0),
        ("3, 4, 6, 7.25", 1.0),
        ("[[3, 4], [6, 7.25]]", 1.0),
        ("3 4\n6 7.25", 1.0),
        ("3.0,4.00,6,7.250", 1.0),
        ("3,4,6,7.3", 0.0),  # 7.25 rounded to one place is not enough
        ("3,4,6,7", 0.0),
        ("3,4,7.25,6", 0.0),  # order matters
        ("3,4,6", 0.0),
        ("3,4,6,7.25,0", 0.0),
        ("3,4,6,seven", 0.0),
        ("", 0.0),
    ],
)
def test_average_checker(answer, expected):
    assert Pooling().score(answer, inst("average")) == expected


def test_nine_cell_averages_accept_two_decimals():
    instance = inst("average", 3)  # 46/9 = 5.111...
    task = Pooling()
    assert task.score("5.11", instance) == 1.0
    assert task.score("46/9", instance) == 1.0
    assert task.score("5.12", instance) == 0.0
    assert task.score("5.1", instance) == 0.0


def test_max_checker():
    task = Pooling()
    assert task.score("5,6,8,10", inst("max")) == 1.0
    assert task.score("5.0, 6, 8, 10", inst("max")) == 1.0
    assert task.score("5,6,8,9", inst("max")) == 0.0


def test_official_set_has_both_pooling_types(data_dir):
    """Stored answers are checked in test_task_contract.py (OFFICIAL_GOLD)."""
    task = Pooling(instances=OFFICIAL)
    assert {task.generate(seed).metadata["pooling_type"] for seed in range(200)} == {"max", "average"}
