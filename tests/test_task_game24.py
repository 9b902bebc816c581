"""Game24: solvable generation, the ast-based checker, the reference search, and the CSV source."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from r1ci_env.tasks import Instance
from r1ci_env.tasks.common import evaluate_arithmetic
from r1ci_env.tasks.game24 import Game24, find_expression, is_solution

CSV = "symbench/game24_dataset/24/24.csv"


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout


def puzzle(numbers: list[int], target: int = 24) -> Instance:
    return Instance(question="", gold={"numbers": numbers, "target": target}, instance_id="t")


def test_same_seed_same_question_and_many_distinct():
    a, b = Game24(), Game24()
    assert a.generate(11) == b.generate(11)
    assert len({a.generate(seed).question for seed in range(1000)}) >= 200


def test_generated_puzzles_follow_knobs_and_are_solvable():
    task = Game24(count=5, target=30, min_number=2, max_number=9)
    for seed in range(30):
        inst = task.generate(seed)
        numbers = inst.gold["numbers"]
        assert len(numbers) == 5 and all(2 <= n <= 9 for n in numbers) and inst.gold["target"] == 30
        assert ", ".join(map(str, numbers)) in inst.question and "30" in inst.question
        expression = find_expression(numbers, 30)
        assert task.score(expression, inst) == 1.0


@pytest.mark.parametrize("seed", range(12))
def test_reference_solution_runs_and_scores_one(seed):
    task = Game24()
    inst = task.generate(seed)
    answer = run_python(task.reference_solution(inst)).strip()
    assert answer.endswith("= 24")
    assert task.score(answer, inst) == 1.0
    expression = answer.split("=")[0]
    assert task.score(expression, inst) == 1.0
    assert task.score(f"({expression})+1-1", inst) == 0.0  # extra numbers
    assert task.score(f"({expression})*1", puzzle(inst.gold["numbers"] + [2])) == 0.0  # wrong multiset


@pytest.mark.parametrize(
    "answer",
    ["(1+2+3)*4", "(1+2+3)*4 = 24", " 4*3*2*1=24 ", "(1+2+3)\u00d74", "4 * (3 + 2 + 1)"],
)
def test_checker_accepts_expression_with_or_without_rhs(answer):
    assert Game24().score(answer, puzzle([1, 2, 3, 4])) == 1.0


def test_checker_uses_exact_fractions():
    assert Game24().score("5*(5-1/5)", puzzle([1, 5, 5, 5])) == 1.0
    assert Game24().score("8/(3-8/3)", puzzle([3, 3, 8, 8])) == 1.0


@pytest.mark.parametrize(
    "answer",
    [
        "(2+2+2)*4",  # reuses 2, misses 1 and 3
        "4*3*2*1*1",  # uses 1 twice
        "4*3*2",  # misses 1
        "1+2+3+4",  # wrong value
        "(1+2+3)*4 = 25",  # wrong right-hand side
        "(1+2+3)*4 == 24",
        "(1+2+3)*4 = 24 = 24",
        "(1+2+3)*4.0",
        "(1+2+3)*4**1",
        "(1+2+3)*4//1",
        "-(1-2-3)*4+8",
        "__import__('os').system('true')",
        "(1+2+3)*4 if True else 0",
        "[1,2,3,4]",
        "",
    ],
)
def test_checker_rejects(answer):
    assert Game24().score(answer, puzzle([1, 2, 3, 4])) == 0.0


def test_evaluator_never_executes_code():
    for text in ["__import__('os')", "open('x')", "1 if 1 else 2", "(lambda: 24)()", "0x18", "1_0", "2**3", "-3"]:
        with pytest.raises(ValueError):
            evaluate_arithmetic(text)
    with pytest.raises(ValueError, match="division by zero"):
        evaluate_arithmetic("4/(2-2)")
    with pytest.raises(ValueError):
        evaluate_arithmetic("(" * 400 + "1" + ")" * 400)
    assert evaluate_arithmetic("(10-9)*(11+13)") == (24, [10, 9, 11, 13])


def test_solver_reports_unsolvable():
    assert find_expression([1, 1, 1, 1], 24) is None
    assert is_solution(find_expression([3, 3, 8, 8], 24), [3, 3, 8, 8], 24)


def test_csv_source_serves_rows_and_codesteer_test_rows_are_solved(data_dir):
    task = Game24(instances=CSV)
    assert task.num_questions() == 1362
    first = task.generate(0)
    assert first.instance_id == "24.csv#row0" and first.gold["numbers"] == [1, 1, 4, 6]
    assert task.generate(1362) == first
    for row in range(5, 1362, 30):  # CodeSteer's test rows
        inst = task.generate(row)
        assert inst.instance_id == f"24.csv#row{row}"
        expression = find_expression(inst.gold["numbers"], 24)
        value, used = evaluate_arithmetic(expression)
        assert value == 24 and Counter(used) == Counter(inst.gold["numbers"])
        assert task.score(f"{expression} = 24", inst) == 1.0


def test_csv_source_missing_is_a_clear_error(tmp_path, data_dir):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        Game24(instances=str(tmp_path / "nope.csv"))
