"""StringInsertion: the insertion rule (overlaps included), knobs, the string checker, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.string_insertion import RULES, StringInsertion, _occurrences, insert_after_triggers

OFFICIAL = "symbench/string_insertion"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ABCD", "ABCDA"),
        ("ABCDE", "ABCDAEB"),  # overlapping occurrences both insert, positions from the original
        ("EABCDEAB", "EABCEDAEBACBD"),  # five overlapping occurrences
        ("AAAA", "AAAA"),
        ("DBCDEDCDEAECDEA", "DBCDEBDCDEACECDEAC"),  # an official instance (sample_0)
    ],
)
def test_insert_after_triggers(text, expected):
    assert insert_after_triggers(text, RULES) == expected


def test_knobs_control_number_of_insertions_and_lengths():
    task = StringInsertion(min_insertions=5, max_insertions=6, max_separator=3, max_padding=0)
    for seed in range(30):
        instance = task.generate(seed)
        original = instance.metadata["original"]
        count = len(_occurrences(original))
        assert 5 <= count <= 6 and len(instance.gold) == len(original) + count
        assert original[:4] in {pattern for pattern, _ in RULES}  # no padding
        assert len(original) <= 4 * count + 3 * (count - 1)
    default = StringInsertion()
    assert all(len(_occurrences(default.generate(s).metadata["original"])) == 3 for s in range(50))


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one_and_a_missing_insertion_zero(seed):
    task = StringInsertion()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    assert task.score(instance.metadata["original"], instance) == 0.0  # nothing inserted
    assert (
        task.score(answer[:-1] if answer.endswith(instance.metadata["original"][-1]) else answer + "A", instance) == 0.0
    )


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("ABCDAEB", 1.0),
        (" ABCDAEB ", 1.0),
        ('"ABCDAEB"', 1.0),
        ("abcdaeb", 1.0),
        ("ABCDAE", 0.0),
        ("ABCDABE", 0.0),
        ("ABCDA EB", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert StringInsertion().score(answer, Instance("", "ABCDAEB", "t")) == expected


def test_official_instances(data_dir):
    task = StringInsertion(instances=OFFICIAL)
    assert task.num_questions() == 200
    for seed in range(200):
        instance = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / instance.instance_id / "solution.json").read_text())
        modified = stored["modified_string"]
        assert instance.metadata["original"] in instance.question
        assert task.score(modified, instance) == 1.0, instance.instance_id
        i = seed % len(modified)
        changed = modified[:i] + ("A" if modified[i] != "A" else "B") + modified[i + 1 :]
        assert task.score(changed, instance) == 0.0, instance.instance_id
        if seed % 10 == 0:
            assert task.score(run_reference(task, instance), instance) == 1.0
