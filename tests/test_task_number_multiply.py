"""NumberMultiply: generation knobs, the strict integer checker, the reference program, official data."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from r1ci_env.tasks import Instance
from r1ci_env.tasks.number_multiply import NumberMultiply

OFFICIAL = "symbench/number_multiply"


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout


def test_same_seed_same_question_and_many_distinct():
    a, b = NumberMultiply(), NumberMultiply()
    assert a.generate(5) == b.generate(5)
    assert len({a.generate(seed).question for seed in range(1000)}) >= 200


def test_knobs_control_count_and_digits():
    task = NumberMultiply(min_count=5, max_count=6, min_digits=7, max_digits=9)
    signs = set()
    for seed in range(100):
        inst = task.generate(seed)
        numbers = inst.metadata["numbers"]
        assert 5 <= len(numbers) <= 6
        assert all(7 <= len(str(abs(n))) <= 9 for n in numbers)
        assert int(inst.gold) == math.prod(numbers)
        signs.update(n < 0 for n in numbers)
        assert all((f"({n})" if n < 0 else str(n)) in inst.question for n in numbers)
    assert signs == {True, False}


@pytest.mark.parametrize("seed", range(8))
def test_reference_solution_runs_and_scores_one(seed):
    task = NumberMultiply(max_digits=12)
    inst = task.generate(seed)
    answer = run_python(task.reference_solution(inst)).strip()
    assert task.score(answer, inst) == 1.0
    assert task.score(str(int(answer) + 1), inst) == 0.0
    assert task.score(str(-int(answer)), inst) == 0.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("-514828", 1.0),
        (" -514,828 ", 1.0),
        ("- 514 828", 1.0),
        ("\u2212514828", 1.0),
        ("514828", 0.0),  # sign matters
        ("-514,82,8", 0.0),  # bad grouping
        ("-514828.0", 0.0),
        ("The answer is -514828", 1.0),  # the shared normalisation drops the prefix
        ("The answer is -514828 or so", 0.0),
        ("-514828 or 514828", 0.0),
        ("", 0.0),
    ],
)
def test_checker_is_strict_about_the_whole_answer(answer, expected):
    inst = Instance(question="", gold="-514828", instance_id="t", metadata={"numbers": [-4, 17, 7571]})
    assert NumberMultiply().score(answer, inst) == expected


def test_positive_answers_may_have_a_plus_sign():
    task = NumberMultiply()
    inst = next(i for i in map(task.generate, range(50)) if int(i.gold) > 0)
    assert task.score("+" + inst.gold, inst) == 1.0
    assert task.score(f"{int(inst.gold):,}", inst) == 1.0


def test_official_instances_match_their_stored_answers(data_dir):
    task = NumberMultiply(instances=OFFICIAL)
    assert task.num_questions() == 300
    first = task.generate(0)
    assert first.instance_id == "digit_1_2_2_4/sample_0"
    for seed in range(300):
        inst = task.generate(seed)
        stored = (data_dir / OFFICIAL / inst.instance_id / "target_answer.txt").read_text().strip()
        assert inst.gold == stored
        assert task.score(stored, inst) == 1.0
