"""StringSynthesis: the six methods, the lowest-usable-method procedure, knobs, checker, and the
official instances."""

from __future__ import annotations

import json

from task_helpers import run_reference

from r1ci_env.tasks.string_synthesis import METHODS, StringSynthesis, _method_lists, synthesize

OFFICIAL = "symbench/string_synthesis"


def test_procedure_restarts_from_method_one():
    # 4 [A], 5 [B], 5 [C]: method 1 four times, then method 3 once. One use of each method per round
    # would instead give 0 0 0 0 1 1 2 2 0.
    assert synthesize([4, 5, 5], _method_lists()) == [0, 0, 0, 4, 1, 0, 0, 0, 0]
    assert synthesize([0, 0, 4], _method_lists()) == [0, 0, 0, 0, 0, 2, 0, 0, 0]
    assert synthesize([1, 0, 3], _method_lists()) == [1, 0, 1, 0, 0, 1, 0, 0, 0]


def test_counts_follow_the_knobs():
    task = StringSynthesis(min_count=3, max_count=4)
    for seed in range(30):
        inst = task.generate(seed)
        counts = inst.metadata["counts"]
        assert all(3 <= n <= 4 for n in counts)
        assert f"You start with {counts[0]} [A], {counts[1]} [B] and {counts[2]} [C]" in inst.question
        assert len(inst.gold) == 9 and all(n >= 0 for n in inst.gold)
        # [A] is only used with [B] (methods 1, 2), so [A] and [B] cannot both remain
        assert min(inst.gold[0], inst.gold[1]) == 0
    assert len(METHODS) == 6
    assert len({StringSynthesis().generate(s).question for s in range(300)}) >= 200


def test_checker_formats_and_perturbations():
    task = StringSynthesis()
    inst = task.generate(0)
    gold = inst.gold
    forms = (" ".join(map(str, gold)), json.dumps(gold), ", ".join(map(str, gold)), json.dumps([str(n) for n in gold]))
    for answer in forms:
        assert task.score(answer, inst) == 1.0, answer
    changed = list(gold)
    changed[0] += 1
    for answer in (
        " ".join(map(str, changed)),
        " ".join(map(str, gold[:-1])),
        " ".join(map(str, gold + [0])),
        " ".join(map(str, gold)).replace(" ", "", 1),
        "-1 " * 9,
        "",
    ):
        assert task.score(answer, inst) == 0.0, answer


def test_reference_solution():
    task = StringSynthesis()
    for seed in range(10):
        inst = task.generate(seed)
        assert task.score(run_reference(task, inst), inst) == 1.0


def test_official_instances(data_dir):
    task = StringSynthesis(instances=OFFICIAL)
    assert task.num_questions() == 200
    for seed in range(200):
        inst = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        assert inst.gold == stored["final_counts"]
        answer = stored["solution_string"].removeprefix("<<<").removesuffix(">>>")
        assert task.score(answer, inst) == 1.0, inst.instance_id
        perturbed = list(stored["final_counts"])
        perturbed[-1] += 1
        assert task.score(" ".join(map(str, perturbed)), inst) == 0.0, inst.instance_id
    assert task.score(run_reference(task, inst), inst) == 1.0
