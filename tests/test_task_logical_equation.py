"""LogicalEquation: generation knobs, question parsing, the exact checker, the solver, official data."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.logical_equation import LogicalEquation, parse_question, satisfies, solve_letters

OFFICIAL = "symbench/logical_equation"
# A=3, B=6, C=9, D=12: sums, a difference, a multiple and a comparison
PUZZLE = Instance(
    question="",
    gold={
        "numbers": [3, 6, 9, 12],
        "constraints": [
            ["sum", "A", "C", 12],
            ["diff", "D", "B", 6],
            ["mult", "D", "A", "4.0"],
            ["gt", "C", "B"],
        ],
    },
    instance_id="t",
)


def independent_check(values: list[int], question_text: str) -> bool:
    """Evaluate the official constraint lines with Python arithmetic (a second opinion)."""
    env = {chr(65 + i): Fraction(v) for i, v in enumerate(values)}
    for line in re.findall(r"^\d+\. (.*)$", question_text, re.MULTILINE):
        expr = re.sub(r"(\d+\.\d+)([A-Z])", r"Fraction('\1')*\2", line).replace(" = ", " == ")
        if not eval(expr, {"Fraction": Fraction}, env):  # noqa: S307 - our own test data
            return False
    return True


def test_knobs_control_shape_and_values():
    task = LogicalEquation(shapes=((5, 4),), min_value=200, max_value=260)
    for seed in range(20):
        inst = task.generate(seed)
        gold = inst.gold
        assert len(gold["numbers"]) == 5 and len(gold["constraints"]) == 4
        assert len(set(gold["numbers"])) == 5 and all(200 <= v <= 260 for v in gold["numbers"])
        assert solve_letters(gold["numbers"], gold["constraints"])
    shapes = {(i.metadata["letters"], i.metadata["constraints"]) for i in map(LogicalEquation().generate, range(50))}
    assert len(shapes) >= 8 and shapes <= set(LogicalEquation().config.shapes)


def test_generated_puzzles_usually_have_one_solution():
    task = LogicalEquation()
    unique = sum(
        len(solve_letters(g["numbers"], g["constraints"], limit=2)) == 1
        for g in (task.generate(s).gold for s in range(20))
    )
    assert unique >= 17


@pytest.mark.parametrize("seed", range(5))
def test_reference_solution_scores_one(seed):
    task = LogicalEquation()
    inst = task.generate(seed)
    assert task.score(run_reference(task, inst), inst) == 1.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("[3, 6, 9, 12]", 1.0),
        ("3, 6, 9, 12", 1.0),
        ("(3 6 9 12)", 1.0),
        ("[3, 9, 6, 12]", 0.0),  # B and C swapped: C > B fails, D - B fails
        ("[3, 6, 9, 9]", 0.0),  # 9 used twice (and 12 not at all)
        ("[3, 6, 9]", 0.0),
        ("[3, 6, 9, 12, 15]", 0.0),
        ("[3.0, 6, 9, 12]", 0.0),
        ("A=3, B=6, C=9, D=12", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert LogicalEquation().score(answer, PUZZLE) == expected


def test_checker_uses_every_number_once_even_if_constraints_allow_repeats():
    inst = Instance(
        question="", gold={"numbers": [1, 2, 4], "constraints": [["mult", "B", "A", "2.0"]]}, instance_id="t"
    )
    assert LogicalEquation().score("[1, 2, 4]", inst) == 1.0
    assert LogicalEquation().score("[2, 4, 4]", inst) == 0.0  # CodeSteer accepts this: values from the list


def test_parse_question_reads_all_constraint_forms():
    text = (
        "... There are 4 letters A, B, C, D, each representing one of the numbers 3, 6, 9, 12. The system ...\n"
        "1. A + C = 12\n2. D - B = 6\n3. D = 4.0A\n4. C > B\n5. A < B\n6. B - C = -3\n\nReturn ..."
    )
    numbers, constraints = parse_question(text)
    assert numbers == [3, 6, 9, 12]
    assert constraints == [
        ["sum", "A", "C", 12],
        ["diff", "D", "B", 6],
        ["mult", "D", "A", "4.0"],
        ["gt", "C", "B"],
        ["lt", "A", "B"],
        ["diff", "B", "C", -3],
    ]
    assert satisfies([3, 6, 9, 12], constraints)


def test_official_instances_gold_scores_one_and_perturbed_zero(data_dir):
    """All 150 official puzzles: the stored solution scores 1.0; swapping the first two values
    scores exactly what an independent evaluation of the question's equations says (0.0 for most);
    the reference solver's answer is accepted."""
    task = LogicalEquation(instances=OFFICIAL)
    assert task.num_questions() == 150
    rejected = 0
    for seed in range(150):
        inst = task.generate(seed)
        folder = data_dir / OFFICIAL / inst.instance_id
        solution = json.loads((folder / "solution.json").read_text())
        text = (folder / "question.txt").read_text()
        assert sorted(solution) == inst.gold["numbers"] and independent_check(solution, text)
        assert task.score(str(solution), inst) == 1.0, inst.instance_id
        swapped = [solution[1], solution[0], *solution[2:]]
        valid = independent_check(swapped, text)
        assert task.score(str(swapped), inst) == (1.0 if valid else 0.0), inst.instance_id
        rejected += not valid
        assert task.score(run_reference(task, inst), inst) == 1.0
    assert rejected >= 140
