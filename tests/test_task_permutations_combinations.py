"""PermutationsCombinations: generation knobs, the constraint checker, the solver, official data."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.permutations_combinations import KINDS, PermutationsCombinations, arrange_books, satisfies

OFFICIAL = "symbench/permutations_and_combinations"
PUZZLE = Instance(
    question="",
    gold={
        "items": ["A", "B", "C", "D"],
        "constraints": [
            ["fixed_position", "B", 2],
            ["left_of", "C", "A"],
            ["adjacent_to", "A", "D"],
            ["not_in_position", "D", 3],
            ["right_of", "D", "B"],
        ],
    },
    instance_id="t",
)  # C B A D is the only arrangement


def test_knobs_control_books_and_constraints():
    default = PermutationsCombinations()
    for seed in range(30):
        meta = default.generate(seed).metadata
        assert 6 <= meta["num_items"] <= 9
        assert meta["num_items"] + 1 <= meta["num_constraints"] <= meta["num_items"] + 2
    task = PermutationsCombinations(min_items=4, max_items=4, min_constraints=2, max_constraints=3)
    for seed in range(30):
        inst = task.generate(seed)
        assert inst.gold["items"] == ["A", "B", "C", "D"] and 2 <= len(inst.gold["constraints"]) <= 3
        assert arrange_books(inst.gold["items"], [tuple(c) for c in inst.gold["constraints"]]) is not None


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = PermutationsCombinations()
    inst = task.generate(seed)
    assert task.score(run_reference(task, inst), inst) == 1.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('["C", "B", "A", "D"]', 1.0),
        ("[C, B, A, D]", 1.0),
        ("C, B, A, D", 1.0),
        ("'c' 'b' 'a' 'd'", 1.0),
        ('["C", "B", "D", "A"]', 0.0),  # D in position 3
        ('["B", "C", "A", "D"]', 0.0),  # B not in position 2
        ('["C", "B", "A"]', 0.0),  # a book left out
        ('["C", "B", "A", "D", "D"]', 0.0),  # a book twice
        ('["C", "B", "A", "E"]', 0.0),  # an unknown book
        ("CBAD", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert PermutationsCombinations().score(answer, PUZZLE) == expected


def test_solver_agrees_with_brute_force():
    rng = random.Random(3)
    for _ in range(400):
        n = rng.randint(2, 5)
        items = [chr(65 + k) for k in range(n)]
        constraints = []
        for _ in range(rng.randint(0, n + 2)):
            kind = rng.choice(KINDS)
            if kind in ("fixed_position", "not_in_position"):
                constraints.append((kind, rng.choice(items), rng.randint(1, n)))
            else:
                constraints.append((kind, *rng.sample(items, 2)))
        exists = any(satisfies(list(p), constraints) for p in itertools.permutations(items))
        found = arrange_books(items, constraints)
        assert exists == (found is not None)
        assert found is None or satisfies(found, constraints)


def test_official_instances_gold_scores_one_and_perturbed_zero(data_dir):
    """All 200 official puzzles: the stored arrangement scores 1.0; swapping two books scores 0.0
    unless the swapped arrangement also satisfies every constraint (checked by brute force here);
    the reference solver solves every puzzle."""
    task = PermutationsCombinations(instances=OFFICIAL)
    assert task.num_questions() == 200
    rejected = 0
    for seed in range(200):
        inst = task.generate(seed)
        data = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        solution = data["correct_solution"]
        assert inst.gold["items"] == data["items"]
        assert len(inst.gold["constraints"]) == len(data["constraints_text"].splitlines())
        assert task.score(json.dumps(solution), inst) == 1.0, inst.instance_id
        swapped = [solution[1], solution[0], *solution[2:]]
        still_valid = satisfies(swapped, [tuple(c) for c in inst.gold["constraints"]])
        assert task.score(json.dumps(swapped), inst) == (1.0 if still_valid else 0.0)
        rejected += not still_valid
        assert task.score(json.dumps(solution[:-1]), inst) == 0.0
        assert task.score(run_reference(task, inst), inst) == 1.0
    assert rejected >= 100  # most swaps break some constraint (112 of 200)


def test_official_constraint_sentences_are_parsed(data_dir):
    task = PermutationsCombinations(instances=OFFICIAL)
    inst = task.generate(task.official.ids.index("sample_0"))
    assert inst.gold["constraints"][:4] == [
        ["adjacent_to", "C", "A"],
        ["left_of", "E", "F"],
        ["left_of", "A", "F"],
        ["not_in_position", "A", 4],
    ]
    assert ["fixed_position", "F", 4] in inst.gold["constraints"]
