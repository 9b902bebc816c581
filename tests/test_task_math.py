"""MathGeometry and MathCountingProbability: the pinned data directories, the boxed-answer
extraction, and the model-free equivalence checker (_math_answer) on every stored answer, on
equivalent rewritings of it and on perturbations of it."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
import sympy
from task_helpers import run_reference

from r1ci_env.data import ChecksumError, DataError
from r1ci_env.tasks import make_task
from r1ci_env.tasks._math_answer import _parse, is_equivalent, last_boxed, normalise
from r1ci_env.tasks._math_dataset import directory_sha256

TASKS = {"MathGeometry": ("geometry", 870), "MathCountingProbability": ("counting_and_probability", 771)}

# Stored answers that are not single numbers, with equivalent forms the checker must accept and a
# wrong form it must reject. Three of them are compared as normalised strings only (the reason is
# given); for those only formatting rewrites (spacing, $...$, \boxed{}) are checked.
NON_NUMERIC = {
    "geometry/1.json": (["(18,-18)", "[18, -18]"], "(-18, 18)"),
    "geometry/1008.json": (["(1,4)"], "(4, 1)"),
    "geometry/1022.json": (["(-5,6)"], "(5, 6)"),
    "geometry/1075.json": (["CBAD", "cbad"], "ABCD"),
    "geometry/1101.json": (["-1", "y=-1"], "y = 1"),  # an equation of a line; "label = value" form
    "geometry/1131.json": (["(-15,0)"], "(0, -15)"),
    "geometry/125.json": (["(C)", "\\text{C}"], "D"),
    "geometry/176.json": (["12+12\\sqrt3", "12(1+\\sqrt{3})"], "12+12\\sqrt{2}"),
    "geometry/285.json": (["(-4, 1)"], "(4, -1)"),
    "geometry/290.json": (["12, 9", "(12, 9)"], "9, 12"),
    "geometry/325.json": (["a^2\\pi", "\\pi\\cdot a^{2}"], "\\pi a^3"),
    "geometry/332.json": (["(0, 6)"], "(6, 0)"),
    "geometry/407.json": (["(2,-2)"], "(-2, 2)"),
    "geometry/426.json": (["(-2, 3)"], "(2, 3)"),
    "geometry/510.json": (["-p+12"], "12+p"),
    "geometry/6188.json": (["\\{7,5,4\\}", "4, 5, 7"], "\\{4,5\\}"),
    "geometry/6202.json": (["9, 4", "AB=9,CD=4"], "4, 9"),
    "geometry/6210.json": (["(\\cos\\alpha)^2", "1-\\sin^2\\alpha"], "\\sin^2\\alpha"),
    "geometry/6212.json": (["\\tan\\theta=2\\theta"], "\\tan \\theta = \\theta"),  # an equation: string match only
    "geometry/6216.json": (["\\pi r/(h+r)", "\\frac{r\\pi}{r+h}"], "\\frac{\\pi h}{h+r}"),
    "geometry/6217.json": (["3\\sec\\frac12\\theta", "\\frac{3}{\\cos(\\theta/2)}"], "3 \\sec \\theta"),
    "geometry/6218.json": (["b+a"], "a-b"),
    "geometry/6220.json": (["1 : 4"], "4:1"),
    "geometry/6225.json": (["s^2\\leq 8r^2"], "s^2 \\ge 8r^2"),  # an inequality: string match only
    "geometry/6228.json": (["3 : 1"], "1:3"),
    "geometry/6229.json": (["\\frac{bhx-bx^2}{h}", "bx-\\frac{bx^2}{h}"], "\\frac{bx}{h}(h+x)"),
    "geometry/6230.json": ([], "\\frac{1}{6}\\triangle ABC"),  # area of a named triangle: string match only
    "geometry/659.json": (["(-2, 5)"], "(-5, 2)"),
    "geometry/683.json": (["(6, 1)"], "(1, 6)"),
    "geometry/705.json": (["6 p", "p\\cdot 6"], "6q"),
    "geometry/739.json": (["1/(4m)", "\\frac{1}{4}m^{-1}"], "\\frac{m}{4}"),
    "geometry/752.json": (["(-2,-2)"], "(-2, 2)"),
    "geometry/848.json": (["8", "K = 8"], "K=9"),
    "geometry/909.json": (["3 : 5"], "5:3"),
    "geometry/923.json": (["cd"], "BD"),
    "counting_and_probability/1061.json": (["B", "(B)"], "A"),
    "counting_and_probability/186.json": (["n"], "n-1"),
    "counting_and_probability/360.json": (["2/3", "0.67", "\\frac{2}{3}"], "0.6"),
    "counting_and_probability/448.json": (["1/(N+1)", "(N+1)^{-1}"], "\\frac{1}{N}"),
    "counting_and_probability/557.json": (["0.56", "56\\%", "56"], "0.65"),
    "counting_and_probability/712.json": (["n"], "2n"),
    "counting_and_probability/826.json": (["3", "k = 3"], "k=4"),
}


@pytest.fixture(scope="module")
def golds() -> list[tuple[str, str]]:
    out = []
    for name in TASKS:
        task = make_task(name)
        out.extend((inst.instance_id, inst.gold) for inst in (task.generate(s) for s in range(task.num_questions())))
    return out


@pytest.mark.parametrize("name", TASKS)
def test_registered_with_paper_attributes_and_all_files_served(name, data_dir):
    subject, count = TASKS[name]
    task = make_task(name)
    assert (task.source, task.category, task.checker) == ("symbench", "reasoning", "EM")
    assert task.num_questions() == count
    ids = [task.generate(s).instance_id for s in range(count)]
    files = sorted(p.name for p in (data_dir / "symbench/MATH/train" / subject).glob("*.json"))
    assert sorted(i.split("/")[1] for i in ids) == files and len(set(ids)) == count
    numbers = [int(i.split("/")[1].removesuffix(".json")) for i in ids]
    assert numbers == sorted(numbers)  # natural order of the file names
    assert task.generate(count) == task.generate(0)
    inst = task.generate(5)
    stored = json.loads((data_dir / "symbench/MATH/train" / inst.instance_id).read_text())
    assert inst.question.startswith(stored["problem"].strip()) and "<<<" in inst.question
    assert inst.gold == last_boxed(stored["solution"])
    assert run_reference(task, inst) == inst.gold and task.score(run_reference(task, inst), inst) == 1.0


def test_last_boxed_handles_nesting_and_forms():
    assert last_boxed("so $\\boxed{\\frac{1}{2}}$ and") == "\\frac{1}{2}"
    assert last_boxed("\\boxed{1} then \\boxed{\\dfrac{\\sqrt{3}}{2}}.") == "\\dfrac{\\sqrt{3}}{2}"
    assert last_boxed("answer $\\boxed 5$.") == "5"
    assert last_boxed("\\fbox{7}") == "7"
    assert last_boxed("no box") is None and last_boxed("\\boxed{unclosed") is None


def rewritings(gold: str) -> list[str]:
    """Formatting rewrites every stored answer must survive."""
    forms = [f"${gold}$", f"\\boxed{{{gold}}}", re.sub(r"([+\-=])", r" \1 ", gold), f"  {gold}  "]
    forms.append(gold.replace("\\dfrac", "\\frac") if "\\dfrac" in gold else gold.replace("\\frac", "\\dfrac"))
    return forms


def test_every_stored_answer_its_rewritings_and_perturbations(golds):
    assert len(golds) == 870 + 771
    non_numeric_seen = set()
    for instance_id, gold in golds:
        assert is_equivalent(gold, gold), instance_id
        for form in rewritings(gold):
            assert is_equivalent(form, gold), (instance_id, form)
        assert not is_equivalent(gold + "+1", gold), instance_id  # perturbed
        try:
            value = _parse(normalise(gold).rstrip("%"))
            numeric = not isinstance(value, tuple) and not value.free_symbols
        except ValueError:
            numeric = False
        if not numeric:
            non_numeric_seen.add(instance_id)
            continue
        exact = value.is_Integer
        decimal = str(int(value)) if exact else format(float(sympy.N(value, 30)), ".15g")
        assert is_equivalent(decimal, gold), (instance_id, decimal)
        fraction = re.fullmatch(r"\\[dt]?frac\{?(\d+)\}?\{?(\d+)\}?", gold.strip())
        if fraction:
            assert is_equivalent(f"{fraction[1]}/{fraction[2]}", gold), instance_id
        wrong = float(sympy.N(value, 30)) + 0.01 * max(1.0, abs(float(sympy.N(value, 30))))
        assert not is_equivalent(format(wrong, ".15g"), gold), instance_id
    assert non_numeric_seen == set(NON_NUMERIC)  # every other stored answer is a single number


@pytest.mark.parametrize("instance_id", sorted(NON_NUMERIC))
def test_non_numeric_answers(instance_id, golds):
    gold = dict(golds)[instance_id]
    equivalent, wrong = NON_NUMERIC[instance_id]
    for form in equivalent:
        assert is_equivalent(form, gold), form
    assert not is_equivalent(wrong, gold)


@pytest.mark.parametrize(
    "answer, gold, expected",
    [
        ("1/2", "\\frac{1}{2}", True), ("0.5", "\\frac12", True), ("\\dfrac{1}{2}", "\\frac{1}{2}", True),
        ("0.33", "\\frac{1}{3}", False), ("0.3333333", "\\frac{1}{3}", True), ("2/6", "\\frac{1}{3}", True),
        ("2\\sqrt{2}", "\\sqrt{8}", True), ("2*sqrt(2)", "2\\sqrt{2}", True), ("sqrt(3)/2", "\\frac{\\sqrt3}{2}", True),
        ("56.5486677646", "18\\pi", True), ("56.55", "18\\pi", False), ("17\\pi", "18\\pi", False),
        ("pi/6", "\\frac{\\pi}{6}", True),
        ("60", "60^\\circ", True), ("60°", "60^{\\circ}", True), ("60 degrees", "60^\\circ", True),
        ("61", "60^\\circ", False),
        ("8", "8\\text{ cm}", True), ("8 cm", "8\\text{ cm}", True), ("20", "20 \\text{ sq units}", True),
        ("164\\pi", "164 \\pi \\mbox{ square feet}", True), ("4m", "4", False),
        ("70", "70\\%", True), ("0.7", "70\\%", True), ("0.7\\%", "70\\%", False), ("7", "70\\%", False),
        ("1000000", "1,\\!000,\\!000", True), ("1,000,000", "1,\\!000,\\!000", True),
        ("1000001", "1,\\!000,\\!000", False),
        ("31250", "31,250", True), ("675", "\\$675", True), ("3.6", "\\$3.60", True), ("3.61", "\\$3.60", False),
        ("-562949953421312", "-2^{49}", True), ("-562949953421311", "-2^{49}", False),
        ("2.5", "2\\frac{1}{2}", True), ("1e5", "100000", True),
        ("3.41038344442e-08", "\\dfrac{1}{29,\\!322,\\!216}", True),
        ("0", "0", True), ("0.0", "0", True), ("1", "0", False), ("8.40", "8.4", True), (".79", "0.79", True),
        ("\\left(\\frac{1}{2}\\right)", "\\frac12", True), ("\\infty", "\\infty", True),
    ],
)  # fmt: skip
def test_equivalence_pairs(answer, gold, expected):
    assert is_equivalent(answer, gold) is expected


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "{",
        "\\frac{",
        "\\frac{1}{0}",
        "__import__('os').system('echo hi')",
        "x" * 5000,
        "9^{9^{9^9}}",
        "10^{100000}",
        "100000!",
        "\\binom{100000}{50000}",
        "(" * 60 + "1" + ")" * 60,
        "\\sqrt[0]{2}",
        "0^{-1}",
        "\\log(0)",
        "1/0",
        "\\frac{1}{x-x}",
        "\\sin(",
        "((1, 2), (3, 4))",
    ],
)
def test_malformed_or_huge_answers_score_zero_quickly(answer):
    start = time.perf_counter()
    assert is_equivalent(answer, "1") is False
    assert time.perf_counter() - start < 2.0


def test_score_never_raises(data_dir):
    task = make_task("MathGeometry")
    inst = task.generate(0)
    for answer in ("", "(18, -18", "\\boxed{", "(18, -18, 1)", "(-18, 18)"):
        assert task.score(answer, inst) == 0.0
    assert task.score("\\boxed{(18,-18)}", inst) == 1.0


def test_directory_checksum_is_pinned_and_missing_data_is_a_clear_error(tmp_path, monkeypatch, data_dir):
    root = tmp_path / "symbench/MATH/train/geometry"
    shutil.copytree(data_dir / "symbench/MATH/train/geometry", root)
    monkeypatch.setenv("R1CI_DATA_DIR", str(tmp_path))
    assert make_task("MathGeometry").num_questions() == 870  # an identical copy passes
    (root / "1.json").write_text((root / "1.json").read_text().replace("(18, -18)", "(18, -17)"))
    with pytest.raises(ChecksumError, match="not the pinned"):
        make_task("MathGeometry")
    with pytest.raises(DataError, match="MATH.tar"):
        make_task("MathCountingProbability")  # not in this data directory, and never downloaded
    assert directory_sha256(data_dir / "symbench/MATH/train/counting_and_probability") == (
        "c548c432aefbc4b2b9fe466a66152062e9d0fe999ca43b962fce6677763674aa"
    )


def test_source_directory_serves_other_files(tmp_path):
    (tmp_path / "2.json").write_text(json.dumps({"problem": "What is 1+1?", "solution": "It is $\\boxed{2}$."}))
    (tmp_path / "10.json").write_text(json.dumps({"problem": "Half of 1?", "solution": "$\\boxed{\\frac12}$"}))
    task = make_task("MathCountingProbability", instances=str(tmp_path))
    assert task.num_questions() == 2
    first, second = task.generate(0), task.generate(1)
    assert (first.gold, second.gold) == ("2", "\\frac12")
    assert task.score("0.5", second) == 1.0 and task.score("2", second) == 0.0


def test_percent_of_the_number_is_not_the_number():
    assert not is_equivalent("0.5\\%", "\\frac{1}{2}")
    assert not is_equivalent("50", "\\frac{1}{2}")
    assert is_equivalent("50\\%", "\\frac{1}{2}")
    assert is_equivalent("70", "70\\%")


def test_no_decimal_where_a_common_fraction_is_asked():
    from r1ci_env.tasks import make_task

    task = make_task("MathCountingProbability")
    instance = next(i for i in map(task.generate, range(400)) if "common fraction" in i.question)
    value = sympy.N(_parse(normalise(instance.gold)), 30)
    assert task.score(instance.gold, instance) == 1.0
    assert task.score(format(float(value), ".15g"), instance) == 0.0


def test_a_hedge_is_not_read_as_a_product_that_vanishes():
    assert not is_equivalent("-0 or -9", "-9")  # would parse as -0*o*r - 9
    assert not is_equivalent("0x + 5", "5")
    assert is_equivalent("0x + 5", "0x + 5")
    assert is_equivalent("2x + 0y", "2x") is False
