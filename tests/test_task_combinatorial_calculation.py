"""CombinatorialCalculation: generation knobs, the in-order checker, the reference search, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.combinatorial_calculation import CombinatorialCalculation, ordered_expression

OFFICIAL = "symbench/combinatorial_calculation"
PUZZLE = Instance(question="", gold={"numbers": [6, 2, 7], "target": 10}, instance_id="t")


def test_knobs_control_shapes_and_range():
    task = CombinatorialCalculation(shapes=((4, 50), (3, 7)), min_number=10, max_number=20)
    shapes = set()
    for seed in range(40):
        gold = task.generate(seed).gold
        assert all(10 <= n <= 20 for n in gold["numbers"])
        shapes.add((len(gold["numbers"]), gold["target"]))
        assert ordered_expression(gold["numbers"], gold["target"]) is not None
    assert shapes == {(4, 50), (3, 7)}


def test_default_shapes_are_codesteers():
    shapes = {
        (len(g["numbers"]), g["target"]) for g in (CombinatorialCalculation().generate(s).gold for s in range(60))
    }
    assert shapes == {(3, 10), (4, 24), (5, 78), (5, 69), (6, 100)}


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = CombinatorialCalculation()
    inst = task.generate(seed)
    answer = run_reference(task, inst)
    assert task.score(answer, inst) == 1.0
    assert task.score(answer.replace("[", "[(, ").replace("]", ", )]"), inst) == 1.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("[6, /, 2, +, 7]", 1.0),
        ("[(, 6, /, 2, ), +, 7]", 1.0),
        ('["6", "/", "2", "+", "7"]', 1.0),
        ("6, /, 2, +, 7", 1.0),
        ("6/2+7", 1.0),
        ("(6 ÷ 2) + 7", 1.0),
        ("[7, +, 6, /, 2]", 0.0),  # right value, numbers reordered (CodeSteer accepts this)
        ("[6, *, 2, -, 7]", 0.0),  # wrong value
        ("[6, /, 2, +, 7, +, 0]", 0.0),  # an extra number
        ("[6, /, 2, +, 7, =, 10]", 0.0),
        ("[6, /, 2, +, , 7]", 0.0),  # empty token
        ("[6, /, (, -, 2, ), +, 13]", 0.0),  # unary minus, and not the given numbers
        ("[62, +, 7]", 0.0),  # digits joined
        ("[6, 2, +, 7]", 0.0),  # missing operator
        ("[6, /, (, 2, +, 7]", 0.0),  # unbalanced
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert CombinatorialCalculation().score(answer, PUZZLE) == expected


def test_division_is_exact():
    inst = Instance(question="", gold={"numbers": [1, 3, 3], "target": 1}, instance_id="t")
    assert CombinatorialCalculation().score("[1, /, 3, *, 3]", inst) == 1.0
    inst = Instance(question="", gold={"numbers": [1, 3, 3], "target": 0}, instance_id="t")
    assert CombinatorialCalculation().score("[1, /, 3, -, 3]", inst) == 0.0


def test_official_instances_gold_scores_one_and_reordered_zero(data_dir):
    """All 150 official instances: the stored token list scores 1.0, the same tokens with the
    numbers reversed (same multiset) score 0.0 unless the sequence is a palindrome, and the
    reference search solves every instance."""
    task = CombinatorialCalculation(instances=OFFICIAL)
    assert task.num_questions() == 150
    for seed in range(150):
        inst = task.generate(seed)
        data = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        assert inst.gold == {"numbers": data["numbers"], "target": data["target"]}
        tokens = data["solution"]
        assert task.score("[" + ", ".join(tokens) + "]", inst) == 1.0, inst.instance_id
        numbers = [t for t in tokens if t.isdigit()]
        if numbers != numbers[::-1]:
            swapped = iter(numbers[::-1])
            reordered = [next(swapped) if t.isdigit() else t for t in tokens]
            assert task.score("[" + ", ".join(reordered) + "]", inst) == 0.0, inst.instance_id
        assert task.score(run_reference(task, inst), inst) == 1.0
