"""LetterLogicDiagram: generation knobs, the constraint checker (any valid completion), the solver,
and the official instances."""

from __future__ import annotations

import json

from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.letter_logic_diagram import LetterLogicDiagram, count_completions, solve_grid

OFFICIAL = "symbench/letter_logic_diagram"


def render(grid: list[list[str]]) -> str:
    return "\n".join(",".join(row) for row in grid)


def test_blanks_follow_the_knobs_and_the_grid_is_solvable():
    task = LetterLogicDiagram(min_blanks=12, max_blanks=14)
    for seed in range(30):
        inst = task.generate(seed)
        grid = inst.gold["grid"]
        assert 12 <= inst.metadata["blanks"] == sum(c is None for row in grid for c in row) <= 14
        assert solve_grid(grid) is not None
    counts = {LetterLogicDiagram(min_blanks=20, max_blanks=30).generate(s).metadata["blanks"] for s in range(60)}
    assert min(counts) >= 20 and max(counts) <= 30 and len(counts) > 5


def test_unique_knob_gives_puzzles_with_one_completion():
    task = LetterLogicDiagram(min_blanks=30, max_blanks=33, unique=True)
    for seed in range(10):
        grid = task.generate(seed).gold["grid"]
        assert count_completions(grid, 2) == 1
    # Without it, many 30-blank puzzles have several completions.
    loose = LetterLogicDiagram(min_blanks=33, max_blanks=33)
    assert any(count_completions(loose.generate(s).gold["grid"], 2) == 2 for s in range(20))


def test_reference_scores_one_and_targeted_perturbations_score_zero():
    task = LetterLogicDiagram()
    for seed in range(20):
        inst = task.generate(seed)
        answer = run_reference(task, inst)
        assert task.score(answer, inst) == 1.0
        grid = [row.split(",") for row in answer.splitlines()]
        i, j = next((i, j) for i in range(7) for j in range(7) if inst.gold["grid"][i][j] is None)
        changed = [row[:] for row in grid]
        changed[i][j] = "a" if grid[i][j] != "a" else "b"  # one changed blank cell
        assert task.score(render(changed), inst) == 0.0
        assert task.score(render(grid[:6]), inst) == 0.0  # a row short


SOLVED = [list(row) for row in ("cgefbad", "gefbadc", "efbadcg", "fbadcge", "badcgef", "adcgefb", "dcgefba")]


def make_instance(blanks: set[tuple[int, int]]) -> Instance:
    grid = [[None if (i, j) in blanks else c for j, c in enumerate(row)] for i, row in enumerate(SOLVED)]
    return Instance(question="", gold={"grid": grid}, instance_id="t")


def test_checker_accepts_layouts_and_case():
    inst = make_instance({(0, 0), (3, 3)})
    task = LetterLogicDiagram()
    for answer in (
        render(SOLVED),
        "\n" + render(SOLVED).upper() + "\n",
        "\n".join(" ".join(row) for row in SOLVED),
        "; ".join(",".join(row) for row in SOLVED),
        json.dumps(SOLVED),
        "\n".join("".join(row) for row in SOLVED),
    ):
        assert task.score(answer, inst) == 1.0, answer


def test_checker_rejects_rule_breaks():
    task = LetterLogicDiagram()
    inst = make_instance({(0, 0), (0, 1)})
    swapped = [row[:] for row in SOLVED]
    swapped[0][0], swapped[0][1] = swapped[0][1], swapped[0][0]  # row fine, columns and givens broken
    assert task.score(render(swapped), inst) == 0.0
    # A Latin square whose minor diagonal is not constant (rows shifted the other way).
    other = [[SOLVED[0][(j - i) % 7] for j in range(7)] for i in range(7)]
    assert task.score(render(other), make_instance({(i, j) for i in range(7) for j in range(7)})) == 0.0
    for bad in ("", "a,b,c", render(SOLVED).replace("c", "h"), render(SOLVED) + "\na,b,c,d,e,f,g", "x" * 10_000):
        assert task.score(bad, inst) == 0.0


def test_official_instances_stored_solution_and_perturbation(data_dir):
    task = LetterLogicDiagram(instances=OFFICIAL)
    assert task.num_questions() == 200
    several = 0
    for seed in range(200):
        inst = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())["solution"]
        assert task.score(render(stored), inst) == 1.0, inst.instance_id
        i, j = next((i, j) for i in range(7) for j in range(7) if inst.gold["grid"][i][j] is None)
        changed = [row[:] for row in stored]
        changed[i][j] = "a" if stored[i][j] != "a" else "b"
        assert task.score(render(changed), inst) == 0.0, inst.instance_id
        completions = solve_grid(inst.gold["grid"], limit=2, all_solutions=True)
        if len(completions) > 1:  # a valid completion other than the stored one also scores 1.0
            several += 1
            alternative = next(c for c in completions if c != stored)
            assert task.score(render(alternative), inst) == 1.0
    assert several == 84  # why the checker is CK: exact match would fail these valid answers


def test_official_reference_solutions(data_dir):
    task = LetterLogicDiagram(instances=OFFICIAL)
    for seed in range(0, 200, 10):
        inst = task.generate(seed)
        assert task.score(run_reference(task, inst), inst) == 1.0
