"""Cryptanalysis: the feedback semantics, generated puzzles with one consistent code, the checker,
and the official instances (feedback parsed, reproduced and uniquely solved)."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks.cryptanalysis import (
    Cryptanalysis,
    consistent_codes,
    describe_feedback,
    part_feedback,
    read_conditions,
)

OFFICIAL = "symbench/cryptanalysis"


@pytest.mark.parametrize(
    "guess, code, feedback",
    [
        ("38", "53", "moved1-high"),  # 3 in the code elsewhere; 8 above 5 and 3
        ("10", "53", "none-low"),
        ("19", "53", "none-mid"),  # 1 too small, 9 too large: no common hint
        ("47", "39", "none-mid"),  # both between 3 and 9
        ("39", "39", "placed2"),
        ("93", "39", "swapped2"),
        ("38", "39", "placed1-mid"),
        ("TA", "FA", "placed1-high"),
        ("EF", "FA", "moved1-mid"),
        ("GY", "FA", "none-high"),
    ],
)
def test_feedback_semantics(guess, code, feedback):
    assert part_feedback(guess, code) == feedback


def test_generated_puzzles_have_exactly_one_consistent_code():
    task = Cryptanalysis()
    for seed in range(20):
        inst = task.generate(seed)
        conditions = inst.metadata["conditions"]
        assert 2 <= len(conditions) <= 17
        assert consistent_codes(conditions) == [inst.gold]
        for guess, fb_digits, fb_letters in conditions:
            line = (
                f"Guess {guess}: {describe_feedback(fb_digits, 'digits')}; {describe_feedback(fb_letters, 'letters')}."
            )
            assert line in inst.question
    tight = Cryptanalysis(min_conditions=12, max_conditions=14)
    assert all(12 <= len(tight.generate(s).metadata["conditions"]) <= 14 for s in range(5))


def test_checker_formats_and_perturbations():
    task = Cryptanalysis()
    inst = task.generate(0)
    code = inst.gold
    unquoted = f"[{code[0]}, {code[1]}, {code[2]}, {code[3]}]"
    for answer in (json.dumps(list(code)), " ".join(code), ", ".join(code), code, code.lower(), unquoted):
        assert task.score(answer, inst) == 1.0, answer
    wrong_digit = str((int(code[0]) + 1) % 10) + code[1:]
    wrong = (
        json.dumps(list(wrong_digit)),
        code[1] + code[0] + code[2:],
        code[:3],
        code + "A",
        "",
        json.dumps(list(code[:2] + "12")),
    )
    for answer in wrong:
        assert task.score(answer, inst) == 0.0, answer


def test_reference_solution():
    task = Cryptanalysis()
    for seed in range(5):
        inst = task.generate(seed)
        assert task.score(run_reference(task, inst), inst) == 1.0


def test_official_instances(data_dir):
    task = Cryptanalysis(instances=OFFICIAL)
    assert task.num_questions() == 100
    for seed in range(100):
        inst = task.generate(seed)  # raises unless exactly one code fits
        stored = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())["answer"]
        assert inst.gold == "".join(stored)
        for guess, fb_digits, fb_letters in read_conditions(data_dir / OFFICIAL / inst.instance_id / "question.txt"):
            assert part_feedback(guess[:2], inst.gold[:2]) == fb_digits
            assert part_feedback(guess[2:], inst.gold[2:]) == fb_letters
        assert task.score(json.dumps(stored), inst) == 1.0, inst.instance_id
        swapped = [stored[1], stored[0], stored[2], stored[3]]
        assert task.score(json.dumps(swapped), inst) == 0.0, inst.instance_id
        if seed % 25 == 0:
            assert task.score(run_reference(task, inst), inst) == 1.0
