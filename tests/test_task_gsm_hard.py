"""GSMHard: the pinned data file (local copy, download, checksum), rows in order, the numeric checker
and its tolerance, and the reference (the data's own solution programs) on every row."""

from __future__ import annotations

import json
import math

import pytest
from task_helpers import run_reference

from r1ci_env.data import ChecksumError, DataError, sha256_of
from r1ci_env.tasks import Instance, gsm_hard, make_task
from r1ci_env.tasks.gsm_hard import GSMHard, number_close, parse_number

RELPATH = "symbench/gsmhardv2.jsonl"


def test_registered_with_paper_attributes_and_pins(data_dir):
    task = make_task("GSMHard")
    assert (task.source, task.category, task.checker) == ("symbench", "reasoning", "EM")
    assert sha256_of(data_dir / RELPATH) == gsm_hard.SHA256
    assert gsm_hard.URL.startswith("https://raw.githubusercontent.com/yongchao98/CodeSteer-v1.0/2a7750d8/")


def test_rows_in_order(data_dir):
    task = GSMHard()
    rows = [json.loads(line) for line in (data_dir / RELPATH).read_text().splitlines()]
    assert task.num_questions() == len(rows) == 1319
    for seed in (0, 1, 700, 1318):
        inst = task.generate(seed)
        assert inst.instance_id == f"gsmhardv2.jsonl#row{seed}" and inst.gold == rows[seed]["target"]
        assert inst.question.startswith(rows[seed]["input"].strip()) and "<<<" in inst.question
    assert task.generate(1319) == task.generate(0)


def test_every_row_target_scores_one_perturbation_zero_and_reference_reproduces_it():
    task = GSMHard()
    for seed in range(task.num_questions()):
        inst = task.generate(seed)
        target = inst.gold
        assert task.score(repr(target), inst) == 1.0, seed
        assert task.score(repr(target * (1 + 1e-4) + 1), inst) == 0.0, seed
        assert task.score(run_reference(task, inst), inst) == 1.0, seed  # the row's own program
        if float(target).is_integer():
            assert task.score(str(int(target)), inst) == 1.0, seed


def make(target: float) -> Instance:
    return Instance(question="", gold=target, instance_id="t")


@pytest.mark.parametrize(
    "answer, target, expected",
    [
        ("-9867630", -9867630.0, True), ("-9,867,630", -9867630.0, True), ("\u22129867630.0", -9867630.0, True),
        ("$1,234.50", 1234.5, True), ("1234.5.", 1234.5, True), ("1.2345e3", 1234.5, True), ("2469/2", 1234.5, True),
        ("1234.6", 1234.5, False), ("1234.5 dollars", 1234.5, False), ("1234.5 or 1235", 1234.5, False),
        ("14053029.67", 14053029.666666666, True), ("14053030", 14053029.666666666, True),
        ("14053100", 14053029.666666666, False),
        ("6277334000", 6277334000.0, True), ("6,277,334,000.0", 6277334000.0, True),
        ("6277334001", 6277334000.0, False),
        ("0.0016791648", 0.0016791648, True), ("0.00168", 0.0016791648, False),
        ("3.509051319567191e-07", 3.509e-07, True),  # stored targets are rounded to 10 decimals
        ("0", 3.509e-07, False), ("0", 0.0, True), ("0.0000000001", 0.0, True), ("0.001", 0.0, False),
        ("", 5.0, False), ("five", 5.0, False), ("nan", 5.0, False), ("inf", 5.0, False), ("1e999", 5.0, False),
        ("1/0", 5.0, False), ("1,23", 123.0, False), ("5 6", 56.0, False), ("x" * 500, 5.0, False),
    ],
)  # fmt: skip
def test_checker(answer, target, expected):
    assert GSMHard().score(answer, make(target)) == (1.0 if expected else 0.0)


def test_parse_number_edge_cases():
    assert parse_number("+5") == 5.0 and parse_number("-$5") == -5.0 and parse_number(".5") == 0.5
    for bad in ("+", "-", "$", "e5", "1e", "1..2", "0x10", "1_000", "\u00bd"):
        assert parse_number(bad) is None, bad
    assert number_close("100", 100.0) and not number_close("100.001", 100.0)
    assert math.isclose(parse_number("1,000,000.25"), 1_000_000.25)


def test_download_on_first_use_is_checked(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("R1CI_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(gsm_hard, "URL", (data_dir / RELPATH).as_uri())  # stands in for the public URL
    assert GSMHard().num_questions() == 1319
    assert sha256_of(tmp_path / RELPATH) == gsm_hard.SHA256
    (tmp_path / RELPATH).write_text((data_dir / RELPATH).read_text().replace("Janet", "Jane", 1))
    with pytest.raises(ChecksumError):
        GSMHard()


def test_missing_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("R1CI_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(gsm_hard, "URL", "http://127.0.0.1:9/gsmhardv2.jsonl")
    with pytest.raises(DataError, match="gsmhardv2.jsonl"):
        GSMHard()


def test_source_file_without_code(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"input": "What is 2 + 2?", "target": 4}) + "\n")
    task = GSMHard(instances=str(path))
    inst = task.generate(3)
    assert inst.instance_id == "mine.jsonl#row0" and task.num_questions() == 1
    assert task.score(run_reference(task, inst), inst) == 1.0 and task.score("5", inst) == 0.0
    (tmp_path / "bad.jsonl").write_text(json.dumps({"input": "x", "target": "4"}) + "\n")
    with pytest.raises(ValueError):
        GSMHard(instances=str(tmp_path / "bad.jsonl"))
