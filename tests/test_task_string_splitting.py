"""StringSplitting: the round-robin procedure, knobs, checker (official data: test_task_contract.py)."""

from __future__ import annotations

import json

from r1ci_env.tasks.string_splitting import StringSplitting, dismantle


def test_round_robin_uses_each_method_at_most_once_per_round():
    # 1 A, 1 B, 4 C: always retrying from method 1 (the other procedures) would give 0 1 0 0 1 2.
    assert dismantle([1, 1, 4]) == [0, 0, 1, 1, 0, 3]
    assert dismantle([3, 1, 3]) == [0, 0, 0, 3, 0, 5]
    assert dismantle([2, 2, 3]) == [0, 0, 1, 2, 0, 3]
    assert dismantle([0, 0, 0]) == [0] * 6


def test_counts_follow_the_knobs():
    task = StringSplitting(min_count=4, max_count=5)
    for seed in range(30):
        inst = task.generate(seed)
        assert all(4 <= n <= 5 for n in inst.metadata["counts"])
        assert len(inst.gold) == 6
    assert len({StringSplitting().generate(s).question for s in range(300)}) >= 200


def test_checker_formats_and_perturbations():
    task = StringSplitting()
    inst = task.generate(1)
    gold = inst.gold
    for answer in (json.dumps([str(n) for n in gold]), " ".join(map(str, gold)), str(gold), f"<{gold}>".strip("<>")):
        assert task.score(answer, inst) == 1.0, answer
    swapped = gold[::-1] if gold != gold[::-1] else [n + 1 for n in gold]
    for answer in (json.dumps([str(n) for n in swapped]), json.dumps([str(n) for n in gold[:5]]), "A B C X Y Z", ""):
        assert task.score(answer, inst) == 0.0, answer
