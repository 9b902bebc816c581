"""Reversi: the flipping simulation, legal-move generation, the board checker, official data."""

from __future__ import annotations

import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.reversi import Reversi, legal_moves, opening, play

OFFICIAL = "symbench/reversi_dataset"


def flat(board):
    return [cell for row in board for cell in row]


def test_opening_and_flips():
    assert opening(4) == [list("****"), list("*10*"), list("*01*"), list("****")]
    assert sorted(legal_moves(opening(4), "0")) == [(0, 1), (1, 0), (2, 3), (3, 2)]
    board = play(4, [{"player": "0", "row": 1, "column": 2}])
    assert board == [list("*0**"), list("*00*"), list("*01*"), list("****")]
    # white answers on the diagonal from (1,1): flips (2,2) back
    board = play(4, [{"player": "0", "row": 1, "column": 2}, {"player": "1", "row": 1, "column": 1}])
    assert board == [list("10**"), list("*10*"), list("*01*"), list("****")]


def test_knobs_control_board_and_moves_and_moves_are_legal():
    task = Reversi(board_sizes=(8,), min_moves=5, max_moves=6)
    for seed in range(20):
        m = task.generate(seed).metadata
        assert m["size"] == 8 and 5 <= len(m["moves"]) <= 6
        for k, move in enumerate(m["moves"]):
            assert (move["row"] - 1, move["column"] - 1) in legal_moves(play(8, m["moves"][:k]), move["player"])
    sizes = {Reversi().generate(s).metadata["size"] for s in range(40)}
    assert sizes == {4, 6}


def test_question_shows_the_opening_not_the_result():
    instance = Reversi().generate(5)
    size = instance.metadata["size"]
    assert "\n".join("".join(row) for row in opening(size)) in instance.question
    move = instance.metadata["moves"][0]
    assert f"Move 1: black (0) plays at ({move['row']}, {move['column']})" in instance.question


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one_and_the_unflipped_board_zero(seed):
    task = Reversi()
    instance = task.generate(seed)
    answer = run_reference(task, instance)
    assert task.score(answer, instance) == 1.0
    m = instance.metadata
    placed_only = flat(play(m["size"], m["moves"][:-1]))
    last = m["moves"][-1]
    placed_only[(last["row"] - 1) * m["size"] + last["column"] - 1] = last["player"]  # no flips
    assert task.score(",".join(placed_only), instance) == 0.0


GOLD = list("*0***00**01*****")
INSTANCE = Instance("", GOLD, "t", {"size": 4, "moves": [{"player": "0", "row": 1, "column": 2}]})


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("*,0,*,*,*,0,0,*,*,0,1,*,*,*,*,*", 1.0),
        ("*, 0, *, *\n*, 0, 0, *\n*, 0, 1, *\n*, *, *, *", 1.0),
        ("*0**\n*00*\n*01*\n****", 1.0),
        ("[['*','0','*','*'],['*','0','0','*'],['*','0','1','*'],['*','*','*','*']]", 1.0),
        ("*,0,*,*,*,0,0,*,*,1,1,*,*,*,*,*", 0.0),  # one cell changed
        ("*,*,*,*,*,1,0,*,*,0,1,*,*,*,*,*", 0.0),
        ("*,0,*,*,*,0,0,*,*,0,1,*,*,*,*", 0.0),
        ("*0***00**01*****", 0.0),
        ("", 0.0),
    ],
)
def test_checker(answer, expected):
    assert Reversi().score(answer, INSTANCE) == expected


def test_official_boards_start_from_the_opening(data_dir):
    """Stored answers are checked in test_task_contract.py (OFFICIAL_GOLD)."""
    task = Reversi(instances=OFFICIAL)
    for seed in range(200):
        instance = task.generate(seed)
        stored = json.loads((data_dir / OFFICIAL / instance.instance_id / "solution.json").read_text())
        assert "\n".join("".join(row) for row in opening(stored["board_size"])) in instance.question


def test_default_pool_size_stated_in_the_catalogue():
    from r1ci_env.catalog import NOTES
    from r1ci_env.tasks import make_task

    task = make_task("Reversi")
    distinct = len({task.generate(seed).question for seed in range(3000)})
    assert f"{distinct} distinct questions among seeds 0-2999" in NOTES["Reversi"]
