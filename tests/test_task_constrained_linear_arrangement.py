"""ConstrainedLinearArrangement: game rules, generation knobs, the consistency checker, official data."""

from __future__ import annotations

import itertools
import json

import pytest
from task_helpers import run_reference

from r1ci_env.tasks import Instance
from r1ci_env.tasks.constrained_linear_arrangement import (
    PIECES,
    ConstrainedLinearArrangement,
    consistent,
    deduce_cards,
    round_result,
)

OFFICIAL = "symbench/constrained_linear_arrangement"


def puzzle(game, mine, results) -> Instance:
    return Instance(question="", gold={"game": game, "player_moves": mine, "results": results}, instance_id="t")


def test_round_rules():
    # elements: judged from the player's card (A Wood generates B Fire; A overcomes C Earth)
    assert round_result("elements", "A", "B") == "loss"
    assert round_result("elements", "A", "C") == "win"
    assert round_result("elements", "B", "A") == "draw"  # Wood generates Fire: not the player's card
    assert round_result("elements", "A", "A") == "draw"
    # stick game: A beats B, D beats A, two apart draws
    assert (round_result("stick_game", "A", "B"), round_result("stick_game", "A", "D")) == ("win", "loss")
    assert round_result("stick_game", "A", "C") == "draw"
    # animal: higher rank wins, Mouse (H) beats Elephant (A)
    assert (round_result("animal", "B", "C"), round_result("animal", "C", "B")) == ("win", "loss")
    assert (round_result("animal", "H", "A"), round_result("animal", "A", "H")) == ("win", "loss")
    assert round_result("animal", "E", "E") == "draw"


def test_knobs_control_games_and_rounds():
    task = ConstrainedLinearArrangement(games=("animal",), min_rounds=6, max_rounds=8)
    for seed in range(30):
        gold = task.generate(seed).gold
        assert gold["game"] == "animal" and 6 <= len(gold["player_moves"]) <= 8
        assert len(set(gold["player_moves"])) == len(gold["player_moves"])
        assert deduce_cards(gold["game"], gold["player_moves"], gold["results"]) is not None
    stick = ConstrainedLinearArrangement(games=("stick_game",), min_rounds=4, max_rounds=9)
    assert {len(stick.generate(s).gold["player_moves"]) for s in range(10)} == {4}  # capped by the hand
    games = {ConstrainedLinearArrangement().generate(s).gold["game"] for s in range(60)}
    assert games == {"elements", "stick_game", "animal"}


@pytest.mark.parametrize("seed", range(6))
def test_reference_solution_scores_one(seed):
    task = ConstrainedLinearArrangement()
    inst = task.generate(seed)
    assert task.score(run_reference(task, inst), inst) == 1.0


# CodeSteer's sample_0: you play D, C, E with results draw, win, win. Round 2 needs E (C overcomes
# E), round 3 needs B (E overcomes B); round 1 is a draw for B, C or D, and B is taken: D or C.
ELEMENTS = puzzle("elements", ["D", "C", "E"], ["draw", "win", "win"])


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("D,E,B", 1.0),
        ("[D, E, B]", 1.0),
        ('["D", "E", "B"]', 1.0),
        ("d, e, b", 1.0),
        ("C,E,B", 1.0),  # another consistent answer
        ("A,E,B", 0.0),  # D overcomes A: a win, not a draw
        ("E,E,B", 0.0),  # E repeated (and D generates E: a loss)
        ("B,E,B", 0.0),  # B repeated
        ("D,B,E", 0.0),  # C against B is a draw, not a win
        ("D,E", 0.0),
        ("D,E,B,A", 0.0),
        ("D,E,X", 0.0),
        ("", 0.0),
    ],
)
def test_checker_elements(answer, expected):
    assert ConstrainedLinearArrangement().score(answer, ELEMENTS) == expected


def test_draws_accept_any_consistent_card_and_wins_need_not_match_the_stored_card():
    inst = puzzle("elements", ["A", "B"], ["draw", "draw"])
    task = ConstrainedLinearArrangement()
    draws_for_a = [c for c in PIECES["elements"] if round_result("elements", "A", c) == "draw"]
    assert sorted(draws_for_a) == ["A", "D", "E"]
    assert task.score("A,B", inst) == 1.0 and task.score("E,A", inst) == 1.0 and task.score("D,D", inst) == 0.0
    # stick game: A and C draw with each other and with themselves, so both orders are consistent
    inst = puzzle("stick_game", ["A", "C"], ["draw", "draw"])
    assert task.score("C,A", inst) == 1.0 and task.score("A,C", inst) == 1.0


def test_animal_elephant_and_mouse():
    task = ConstrainedLinearArrangement()
    assert task.score("H", puzzle("animal", ["A"], ["loss"])) == 1.0
    assert task.score("H", puzzle("animal", ["A"], ["win"])) == 0.0  # CodeSteer accepts this
    assert task.score("A", puzzle("animal", ["H"], ["loss"])) == 0.0  # and this
    assert task.score("A", puzzle("animal", ["H"], ["win"])) == 1.0


def test_deduce_cards_agrees_with_brute_force():
    for game, pieces in PIECES.items():
        for mine in itertools.permutations(pieces[:4], 3):
            for theirs in itertools.permutations(pieces, 3):
                results = [round_result(game, a, b) for a, b in zip(mine, theirs)]
                found = deduce_cards(game, list(mine), results)
                assert found is not None and consistent(game, list(mine), results, found)


def test_official_instances_gold_scores_one_and_perturbed_zero(data_dir):
    """All 200 official puzzles: the stored opponent cards score 1.0; repeating the first card in
    the last round scores 0.0; the reference deduction is accepted."""
    task = ConstrainedLinearArrangement(instances=OFFICIAL)
    assert task.num_questions() == 200
    for seed in range(200):
        inst = task.generate(seed)
        data = json.loads((data_dir / OFFICIAL / inst.instance_id / "solution.json").read_text())
        solution = data["solution"]
        assert inst.gold == {
            "game": data["game_type"],
            "player_moves": data["player_moves"],
            "results": data["results"],
        }
        assert task.score(",".join(solution), inst) == 1.0, inst.instance_id
        assert task.score(",".join(solution[:-1] + solution[:1]), inst) == 0.0, inst.instance_id
        assert task.score(run_reference(task, inst), inst) == 1.0
