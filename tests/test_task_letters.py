"""Letters: generation knobs, the count-and-positions checker, the reference program, official words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.letters import Letters, letter_positions

OFFICIAL = "symbench/Letters"


def instance(word: str, letter: str) -> Instance:
    positions = letter_positions(word, letter)
    return Instance(
        question="",
        gold={"count": len(positions), "positions": positions},
        instance_id="t",
        metadata={"word": word, "letter": letter, "length": len(word)},
    )


def test_knobs_control_length_letter_and_count():
    task = Letters(min_length=40, max_length=45, min_count=7, max_count=9, letters="qz")
    for seed in range(60):
        inst = task.generate(seed)
        word, letter = inst.metadata["word"], inst.metadata["letter"]
        assert 40 <= len(word) <= 45 and letter in "qz"
        assert 7 <= word.count(letter) <= 9 and inst.gold["count"] == word.count(letter)
        assert word in inst.question and f"'{letter}'" in inst.question
    zero = Letters(min_count=0, max_count=0, min_length=5, max_length=5).generate(1)
    assert zero.gold == {"count": 0, "positions": []}


@pytest.mark.parametrize("seed", range(5))
def test_reference_solution_scores_one(seed):
    task = Letters()
    inst = task.generate(seed)
    answer = run_reference(task, inst)
    assert task.score(answer, inst) == 1.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("Count: 3, Positions: [1, 3, 6]", 1.0),
        ("count: 3, positions: [6, 1, 3]", 1.0),  # any order
        ("Count=3 Positions=(1,3,6).", 1.0),
        ("Count: 3, Positions: [1 3 6]", 1.0),
        ("Count: 2, Positions: [1, 3]", 0.0),  # a position missing
        ("Count: 3, Positions: [1, 3, 5]", 0.0),  # one position off
        ("Count: 4, Positions: [1, 3, 6]", 0.0),  # wrong count
        ("Count: 3, Positions: [1, 3, 3, 6]", 0.0),  # repeated position
        ("Count: 3, Positions: [0, 2, 5]", 0.0),  # 0-based
        ("Count: 3", 0.0),
        ("3, [1, 3, 6]", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert Letters().score(answer, instance("abaxxa", "a")) == expected


def test_zero_count_is_written_with_empty_positions():
    inst = instance("xyz", "a")
    assert Letters().score("Count: 0, Positions: []", inst) == 1.0
    assert Letters().score("Count: 0, Positions: [1]", inst) == 0.0


def test_official_words_all_load_and_their_gold_is_accepted(data_dir):
    """Every one of the 6,620 official words: the letter and count in the folder name agree with
    the word, the correct answer scores 1.0 and the answer with one position shifted scores 0.0."""
    task = Letters(instances=OFFICIAL)
    assert task.num_questions() == 6620
    root = data_dir / OFFICIAL
    for seed in range(task.num_questions()):
        inst = task.generate(seed)
        letter, count, _ = Path(inst.instance_id).name.split("_")
        word = json.loads((root / inst.instance_id / "test_words.json").read_text())
        assert inst.metadata["word"] == word and inst.metadata["letter"] == letter
        assert word.count(letter) == int(count), inst.instance_id
        positions = inst.gold["positions"]
        assert task.score(f"Count: {len(positions)}, Positions: {positions}", inst) == 1.0
        shifted = positions[:-1] + [positions[-1] + 1 if positions[-1] < len(word) else positions[-1] - 1]
        assert task.score(f"Count: {len(positions)}, Positions: {shifted}", inst) == 0.0


def test_official_subfolder_can_be_served(data_dir):
    task = Letters(instances=str(data_dir / OFFICIAL / "Letters_dataset_min_length_750_max_length_800"))
    assert task.num_questions() == 30
    inst = task.generate(0)
    assert 750 <= len(inst.metadata["word"]) <= 800
    assert task.score(run_reference(task, inst), inst) == 1.0
