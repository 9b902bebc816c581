"""BBH: serving the data file, exact-match scoring with option-letter normalisation, extensibility."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from r1ci_env.data import DataError
from r1ci_env.tasks import bbh, make_task, task_spec
from r1ci_env.tasks.bbh import SHA256, BBHTask, matches_target
from r1ci_env.tasks.common import parse_options


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture
def task(data_dir) -> BBHTask:
    return make_task("bbh.date_understanding")


def test_registered_with_paper_attributes(task):
    spec = task_spec("bbh.date_understanding")
    assert (spec.source, spec.category, spec.checker) == ("bbh", "reasoning", "EM")
    assert task.config.subtask == "date_understanding"
    assert len(SHA256) == 27


def test_seeds_cover_every_example_in_order(task, data_dir):
    examples = json.loads((data_dir / "bbh" / "date_understanding.json").read_text())["examples"]
    assert task.num_questions() == len(examples) == 250
    instances = [task.generate(seed) for seed in range(250)]
    assert [inst.instance_id for inst in instances] == [f"date_understanding#{i}" for i in range(250)]
    assert [inst.gold for inst in instances] == [ex["target"] for ex in examples]
    assert task.generate(250) == instances[0] and task.generate(3) == make_task("bbh.date_understanding").generate(3)
    for inst, ex in zip(instances, examples):
        assert inst.question.startswith(ex["input"]) and "<<<" in inst.question


def test_every_gold_target_scores_one_in_all_forms_and_other_options_zero(task):
    for seed in range(250):
        inst = task.generate(seed)
        letter = inst.gold.strip("()")
        options = parse_options(inst.question)
        assert letter in options and len(options) >= 2
        for answer in (inst.gold, letter, f"({letter.lower()})", f"  {inst.gold} ", f"({letter}) {options[letter]}"):
            assert task.score(answer, inst) == 1.0, (seed, answer)
        for other in sorted(set(options) - {letter}):
            assert task.score(f"({other})", inst) == 0.0
            assert task.score(other, inst) == 0.0


def test_option_answers_must_be_unambiguous(task):
    inst = task.generate(0)  # target (B) 12/25/1937; (E) is 12/25/2006
    assert inst.gold == "(B)"
    assert task.score("12/25/1937", inst) == 1.0  # the text of exactly one option
    assert task.score("(B) 12/25/2006", inst) == 0.0  # label and text disagree
    assert task.score("(B) or (E)", inst) == 0.0
    assert task.score("B, E", inst) == 0.0
    assert task.score("", inst) == 0.0


@pytest.mark.parametrize("seed", [0, 17, 249])
def test_reference_solution_prints_the_target(task, seed):
    inst = task.generate(seed)
    assert task.score(run_python(task.reference_solution(inst)).strip(), inst) == 1.0


@pytest.mark.parametrize(
    "target, answer, ok",
    [
        ("Yes", "yes", True),
        ("No", " NO ", True),
        ("No", "Yes", False),
        ("True", "true", True),
        ("valid", "invalid", False),
        ("-50", "-50", True),
        ("-50", "\u221250", True),
        ("-50", "50", False),
        ("] ] >", "]  ]\n>", True),
        ("] ] >", "] ]", False),
        ("apple banana", "Apple  banana", True),
        ("apple banana", "banana apple", False),
    ],
)
def test_non_option_targets_for_other_subtasks(target, answer, ok):
    assert matches_target(answer, target, {}) is ok


def test_class_serves_any_subtask_without_registration(data_dir):
    web = BBHTask(subtask="web_of_lies")
    inst = web.generate(1)
    assert inst.instance_id == "web_of_lies#1" and inst.gold in ("Yes", "No")
    assert web.score(inst.gold.lower(), inst) == 1.0
    with pytest.raises(ValueError, match="unknown BBH subtask"):
        BBHTask(subtask="date_misunderstanding")


def test_missing_data_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("R1CI_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(bbh, "URL", "http://127.0.0.1:9/{subtask}.json")
    task = make_task("bbh.date_understanding")  # construction does not need the data
    with pytest.raises(DataError, match="bbh/date_understanding.json") as err:
        task.generate(0)
    assert "R1CI_DATA_DIR" in str(err.value) and "127.0.0.1:9" in str(err.value)
