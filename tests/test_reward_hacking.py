"""Every reward must be earned: on every registered task (the paper suite and the extras), a battery
of non-answers scores 0.0 and correctly formatted variants of the right answer score 1.0 (see
tests/reward_battery.py), plus the task-specific formats the shared normalisation and the checkers
must accept."""

from __future__ import annotations

import copy

import pytest
from reward_battery import audit, non_answers
from task_helpers import run_reference

from r1ci_env.tasks import make_task, task_names
from r1ci_env.tasks import reasoning_gym as rgt
from r1ci_env.tasks.answers import normalise_answer

SEEDS = (0, 1)


@pytest.mark.parametrize("name", task_names())
def test_battery(name):
    task = make_task(name)
    for seed in SEEDS:
        instance = task.generate(seed)
        right = run_reference(task, instance)
        assert audit(task, instance, right) == [], (name, seed)


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("Answer: \\boxed{7}", "7"),
        ("The final answer is $x^2$", "x^2"),
        ("**B**", "B"),
        ("\\(3\\)", "3"),
        ("answer", "answer"),
        ("\\boxed{a}{b}", "\\boxed{a}{b}"),
        ("$5 and $6", "$5 and $6"),
        ("  x ", "x"),
    ],
)
def test_shared_normalisation(answer, expected):
    assert normalise_answer(answer) == expected
    assert normalise_answer(normalise_answer(answer)) == normalise_answer(answer)


def test_a_wrapper_that_belongs_to_the_answer_is_kept():
    task = make_task("MatrixTransformation", instances="symbench/matrix_transformation_dataset")
    for seed in range(200):
        instance = task.generate(seed)
        right = run_reference(task, instance)
        if right.startswith("$") and right.endswith("$"):
            assert task.score(right, instance) == 1.0
            return
    pytest.skip("no official grid starts and ends with '$'")


def test_option_labels_with_a_full_stop():
    task = make_task("bbh.date_understanding")
    instance = task.generate(0)
    letter = run_reference(task, instance).strip("()")
    for answer in (f"({letter}).", f"{letter}.", f"({letter})", letter.lower()):
        assert task.score(answer, instance) == 1.0, answer
    other = "B" if letter != "B" else "C"
    assert task.score(f"({other}).", instance) == 0.0


def test_new_operator_accepts_fractions_written_with_spaces_or_latex():
    task = make_task("NewOperator")
    for seed in range(50):
        instance = task.generate(seed)
        right = run_reference(task, instance)
        if "/" in right:
            numerator, denominator = right.lstrip("-").split("/")
            sign = "-" if right.startswith("-") else ""
            for answer in (f"{sign}{numerator} / {denominator}", f"{sign}\\frac{{{numerator}}}{{{denominator}}}"):
                assert task.score(answer, instance) == 1.0, answer
            assert task.score(f"{sign}{numerator} / {int(denominator) + 1}", instance) == 0.0
            return
    pytest.fail("no fractional NewOperator answer among 50 seeds")


def test_blocksworld_accepts_numbered_and_lower_case_moves():
    task = make_task("BlocksWorld")
    instance = task.generate(3)
    lines = run_reference(task, instance).splitlines()
    numbered = "\n".join(f"{i}. {line.lower()}." for i, line in enumerate(lines, 1))
    assert task.score(numbered, instance) == 1.0
    assert task.score("\n".join(f"{i}) {line}" for i, line in enumerate(lines, 1)), instance) == 1.0
    assert task.score("\n".join(lines[:-1]), instance) == 0.0


PLAN_LENGTH = {"tower_of_hanoi", "knight_swap"}  # not a non-answer: tests/test_task_reasoning_gym.py
OWN_TESTS = PLAN_LENGTH | {"game_of_life_halting"}


@pytest.mark.parametrize("dataset", sorted(set(rgt.UPSTREAM_DEFECTS) - OWN_TESTS))
def test_each_recorded_upstream_defect_is_real_and_closed(dataset):
    """RG's own scorer gives 1.0 to some non-answer of the battery on the first items; the task gives
    0.0 to every one of them."""
    task = make_task(f"rg.{dataset}")
    fooled = []
    for seed in SEEDS + (2,):
        instance = task.generate(seed)
        entry, made, _ = rgt._entry(dataset, {}, seed)
        right = run_reference(task, instance)
        for name, answer in non_answers(instance, right).items():
            assert task.score(answer, instance) == 0.0, (seed, name)
            try:
                upstream = made.score_answer(answer=answer, entry=copy.deepcopy(entry))
            except Exception:  # noqa: BLE001 - RG scorers may raise on junk
                continue
            if upstream >= 1.0:  # spell_backward: 1.0000000000000002
                fooled.append(name)
    assert fooled, f"RG's scorer for {dataset} now refuses every non-answer; drop it from UPSTREAM_DEFECTS"
