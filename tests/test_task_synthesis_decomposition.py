"""SynthesisDecomposition: the three recipes, the round-robin procedure, the answer slots (the fix
of CodeSteer's five-slot answers), knobs, checker, and the official instances."""

from __future__ import annotations

import json

from task_helpers import run_reference

from r1ci_env.tasks.synthesis_decomposition import RECIPES, SynthesisDecomposition, exchange

OFFICIAL = "symbench/synthesis_decomposition_dataset"


def test_round_robin_exchange():
    _, methods = RECIPES["two_crops"]
    assert exchange({"A": 4, "B": 2}, methods) == {"A": 0, "B": 1, "X": 3}  # not [0, 1, 0]: slot 3 is X
    _, methods = RECIPES["two_products"]
    assert exchange({"A": 7, "B": 3, "C": 4}, methods) == {"A": 0, "B": 0, "C": 0, "X": 0, "Y": 4}


def test_recipes_and_counts_follow_the_knobs():
    task = SynthesisDecomposition(recipes=["three_crops"], min_count=3, max_count=4)
    for seed in range(20):
        inst = task.generate(seed)
        assert inst.metadata["slots"] == ["A", "B", "C", "X"] and len(inst.gold) == 4
        assert all(3 <= n <= 4 for n in inst.metadata["start"].values())
        assert "[A, B, C, X]" in inst.question
    slots = {tuple(SynthesisDecomposition().generate(s).metadata["slots"]) for s in range(30)}
    assert slots == {("A", "B", "X"), ("A", "B", "C", "X"), ("A", "B", "C", "X", "Y")}


def test_checker_formats_and_perturbations():
    task = SynthesisDecomposition(recipes=["two_products"])
    inst = task.generate(2)
    gold = inst.gold
    for answer in (json.dumps(gold), " ".join(map(str, gold)), json.dumps([str(n) for n in gold])):
        assert task.score(answer, inst) == 1.0, answer
    for answer in (json.dumps(gold[:3]), json.dumps(gold + [0]), json.dumps([gold[0] + 1] + gold[1:]), ""):
        assert task.score(answer, inst) == 0.0, answer


def test_official_instances(data_dir):
    task = SynthesisDecomposition(instances=OFFICIAL)
    assert task.num_questions() == 200
    for seed in range(200):
        inst = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        complexity = stored["complexity"]
        five = [int(n) for n in stored["solution"]["answer"]]  # [A, B, C, X, Y]
        asked = {1: [0, 1, 3], 2: [0, 1, 3], 3: [0, 1, 2, 3], 4: [0, 1, 2, 3], 5: [0, 1, 2, 3, 4]}[complexity]
        answer = [five[i] for i in asked]
        assert task.score(json.dumps(answer), inst) == 1.0, inst.instance_id
        assert task.score(json.dumps([answer[0] + 1] + answer[1:]), inst) == 0.0, inst.instance_id
        if complexity <= 2 and five[2] != five[3]:  # CodeSteer's "first 3 slots" would be [A, B, C]: wrong here
            assert task.score(json.dumps(five[:3]), inst) == 0.0
        if seed % 20 == 0:
            assert task.score(run_reference(task, inst), inst) == 1.0
