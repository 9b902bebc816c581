"""StringDeletionModification: rules, the first-applicable-rule procedure, knobs, checker, and the
official instances (answers and intermediate states)."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.string_deletion_modification import (
    CATALOGUE,
    StringDeletionModification,
    describe_rule,
    parse_official_rule,
    rewrite,
)

OFFICIAL = "symbench/string_deletion_and_modification"


@pytest.mark.parametrize(
    "rule, before, after",
    [
        (["replace_first", "abc", "cab"], "babcabc", "bcababc"),
        (["replace_first", "bca", ""], "abcab", "ab"),
        (["delete_after_start", "ca"], "cabca", "cab"),  # the 'ca' at the start does not count
        (["even_append", "b", "ab"], "abcb", "abcbab"),
        (["even_append", "b", "ab"], "abc", None),
        (["even_append", "b", "ab"], "acc", None),  # zero b's
        (["prefix", "cb", "aa", "", 1], "cbacb", "aaac"),
        (["prefix", "bc", "", "aa", 0], "bcab", "abaa"),
        (["suffix", "cc", "b", "a"], "abcc", "aabb"),
        (["shorten_middle", 15], "a" * 8 + "b" + "a" * 8, "a" * 16),  # length 17: index 8
        (["shorten_middle", 15], "abcdefghijklmnop", "abcdefghjklmnop"),  # length 16: index 8 ('i')
        (["shorten_middle", 15], "a" * 15, None),
    ],
)
def test_each_rule_kind(rule, before, after):
    states = rewrite(before, [rule])
    assert (states[1] if len(states) > 1 else None) == after


def test_first_applicable_rule_restarts_from_rule_one():
    rules = [["suffix", "aa", "a", ""], ["replace_first", "a", "b"]]
    # round-robin would alternate: aaa -> aa -> ba -> bb; here rule 1 fires while it can
    assert rewrite("aaa", rules) == ["aaa", "aa", "a", "b"]


def test_non_terminating_process_is_detected():
    with pytest.raises(RuntimeError):
        rewrite("ab", [["replace_first", "ab", "ba"], ["replace_first", "ba", "ab"]])


def test_every_catalogue_rule_is_described_and_knobs_apply():
    assert len({describe_rule(r) for r in CATALOGUE}) == 20
    task = StringDeletionModification(num_rules=3, min_length=12, max_length=13, min_steps=2)
    for seed in range(20):
        inst = task.generate(seed)
        meta = inst.metadata
        assert len(meta["rules"]) == 3 and 12 <= len(meta["initial"]) <= 13 and meta["steps"] >= 2
        assert inst.gold and f'"{meta["initial"]}"' in inst.question
        assert all(describe_rule(rule) in inst.question for rule in meta["rules"])
    assert min(StringDeletionModification().generate(s).metadata["steps"] for s in range(30)) >= 4


def test_checker_formats_and_perturbations():
    task = StringDeletionModification()
    inst = Instance(question="", gold="bbccbbbbacbabbba", instance_id="t")
    gold = inst.gold
    for answer in (f'"{gold}"', f" {gold} ", f"'{gold}'", f'  " {gold} "', gold.upper()):
        assert task.score(answer, inst) == 1.0, answer
    for answer in ("bbccbbbbacbabbb", "bbccbbbbacbabbbaa", "bbccbbbbacbabbbb", '"bbcc bbbbacbabbba"', "", '""'):
        assert task.score(answer, inst) == 0.0, answer


def test_reference_solution_on_generated_instances():
    task = StringDeletionModification()
    for seed in range(20):
        inst = task.generate(seed)
        answer = run_reference(task, inst)
        assert task.score(answer, inst) == 1.0
        assert task.score(answer[:-1], inst) == 0.0


def test_official_instances(data_dir):
    task = StringDeletionModification(instances=OFFICIAL)
    assert task.num_questions() == 100
    for seed in range(100):
        inst = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        assert [parse_official_rule(r) for r in stored["selected_rules"]] == inst.metadata["rules"]
        assert rewrite(inst.metadata["initial"], inst.metadata["rules"]) == stored["intermediate_states"]
        assert task.score(f'"{stored["final_string"]}"', inst) == 1.0, inst.instance_id
        assert task.score(f'"{stored["final_string"]}a"', inst) == 0.0, inst.instance_id
        assert task.score(f'"{stored["intermediate_states"][-2]}"', inst) == 0.0, inst.instance_id  # one step early
        assert task.score(run_reference(task, inst), inst) == 1.0
