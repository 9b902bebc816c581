"""Constrained Linear Arrangement (SymBench): from the cards you played and each round's result,
work out the cards your opponent played.

Three card games, as in CodeSteer's data (`game_type`):
- elements: cards A-E = Wood, Fire, Earth, Metal, Water. Generation cycle A->B->C->D->E->A,
  overcoming cycle A->C->E->B->D->A. A round is judged from your card only: if your card generates
  the opponent's you lose, if it overcomes the opponent's you win, anything else is a draw (this is
  how CodeSteer's generator decides results, so its stored answers follow it).
- stick_game: cards A-D = Stick, Tiger, Chicken, Worm; each beats the next in the cycle
  A->B->C->D->A; the same card or cards two steps apart draw.
- animal: pieces A-H = Elephant ... Mouse by rank; the higher rank wins, the same piece draws,
  except that the Mouse beats the Elephant.
Each player uses every card at most once. Generated like CodeSteer's data set (both hands drawn
without repetition); `instances=<dir>` serves CodeSteer's instances
(`constrained_linear_arrangement/sample_<i>/solution.json`).

Checking rules and the CodeSteer defects fixed: any list of opponent cards consistent with every
round's result scores 1.0. CodeSteer instead demands the stored card for every won or lost round
(another consistent card is rejected), only checks that the opponent never repeats a card in the
animal game (here: in every game, as the rules say), and also accepts impossible Elephant-Mouse
rounds in the animal game (an Elephant beating a Mouse, a Mouse losing to an Elephant).
Lenient formatting: `A,B,C`, `[A, B, C]`, `["A", "B", "C"]`, spaces, lower case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .common import split_cells
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

GAMES = ("elements", "stick_game", "animal")
PIECES = {"elements": "ABCDE", "stick_game": "ABCD", "animal": "ABCDEFGH"}
RESULTS = ("win", "loss", "draw")


@dataclass
class ConstrainedLinearArrangementConfig(SymBenchConfig):
    """Generator knobs. Each instance picks a game uniformly from `games` and a number of rounds
    uniformly from [min_rounds, max_rounds] capped by the game's hand size (5 elements cards, 4
    stick-game cards, 8 animal pieces). CodeSteer's data: elements 3-5 rounds, stick game 4, animal 3-5.

    games: which games to draw from ("elements", "stick_game", "animal").
    min_rounds, max_rounds: rounds per puzzle (at least 1).
    instances: official instances (`<dir>/sample_<i>/solution.json`, e.g.
        `symbench/constrained_linear_arrangement`).
    """

    games: tuple[str, ...] = GAMES
    min_rounds: int = 3
    max_rounds: int = 5


class ConstrainedLinearArrangement(SymBenchTask):
    name = "ConstrainedLinearArrangement"
    category = "planning"
    checker = "CK"
    config_class = ConstrainedLinearArrangementConfig
    config: ConstrainedLinearArrangementConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not c.games or set(c.games) - set(GAMES):
            raise ValueError(f"ConstrainedLinearArrangement needs games drawn from {GAMES}")
        self.check_range("rounds", low=1)
        if any(c.min_rounds > len(PIECES[g]) for g in c.games):
            raise ValueError("ConstrainedLinearArrangement: min_rounds exceeds a chosen game's hand size")

    def read_instance(self, path: Path, instance_id: str) -> tuple[str, list[str], list[str]]:
        data = json.loads(path.read_text())
        game, mine, results = data["game_type"], data["player_moves"], data["results"]
        if (
            game not in GAMES
            or len(mine) != len(results)
            or any(r not in RESULTS for r in results)
            or any(m not in PIECES[game] for m in mine)
            or len(set(mine)) != len(mine)
        ):
            raise ValueError(f"{path}: not a valid {game!r} puzzle")
        return game, mine, results

    def build(self, problem: tuple[str, list[str], list[str]], instance_id: str) -> Instance:
        game, mine, results = problem
        return Instance(
            question=_question(game, mine, results),
            gold={"game": game, "player_moves": mine, "results": results},
            instance_id=instance_id,
            metadata={"game": game, "rounds": len(mine)},
        )

    def sample(self, rng: Random) -> tuple[str, list[str], list[str]]:
        c = self.config
        game = rng.choice(list(c.games))
        pieces = PIECES[game]
        rounds = rng.randint(c.min_rounds, min(c.max_rounds, len(pieces)))
        mine, theirs = rng.sample(pieces, rounds), rng.sample(pieces, rounds)
        return game, mine, [round_result(game, a, b) for a, b in zip(mine, theirs)]

    def score(self, answer: str, instance: Instance) -> float:
        gold = instance.gold
        cards = [cell.upper() for cell in split_cells(answer)]
        return 1.0 if consistent(gold["game"], gold["player_moves"], gold["results"], cards) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        gold = instance.gold
        return solver_program(
            round_result,
            deduce_cards,
            comment="Try the opponent's unused cards round by round, keeping those that give the announced result.",
            main=f"cards = deduce_cards({gold['game']!r}, {gold['player_moves']!r}, {gold['results']!r})\n"
            + "print(','.join(cards))\n",
        )


def round_result(game, mine, theirs):
    """'win', 'loss' or 'draw' for the player who played `mine` against `theirs`."""
    if game == "elements":
        generates = {"A": "B", "B": "C", "C": "D", "D": "E", "E": "A"}
        overcomes = {"A": "C", "C": "E", "E": "B", "B": "D", "D": "A"}
        if generates[mine] == theirs:
            return "loss"
        return "win" if overcomes[mine] == theirs else "draw"
    if game == "stick_game":
        beats = {"A": "B", "B": "C", "C": "D", "D": "A"}
        if beats[mine] == theirs:
            return "win"
        return "loss" if beats[theirs] == mine else "draw"
    # animal: A (Elephant) is the highest rank, H (Mouse) the lowest; the Mouse beats the Elephant.
    if mine == theirs:
        return "draw"
    if {mine, theirs} == {"A", "H"}:
        return "win" if mine == "H" else "loss"
    return "win" if mine < theirs else "loss"


def deduce_cards(game, mine, results):
    """Opponent cards (distinct) consistent with every round's result, or None."""
    pieces = {"elements": "ABCDE", "stick_game": "ABCD", "animal": "ABCDEFGH"}[game]
    chosen = []

    def search(k):
        if k == len(mine):
            return True
        for card in pieces:
            if card not in chosen and round_result(game, mine[k], card) == results[k]:
                chosen.append(card)
                if search(k + 1):
                    return True
                chosen.pop()
        return False

    return list(chosen) if search(0) else None


def consistent(game: str, mine: list[str], results: list[str], cards: list[str]) -> bool:
    """True iff `cards` are distinct cards of the game, one per round, giving every announced result."""
    pieces = PIECES[game]
    if len(cards) != len(mine) or len(set(cards)) != len(cards) or any(c not in pieces for c in cards):
        return False
    return all(round_result(game, a, b) == r for a, b, r in zip(mine, cards, results))


_RULES = {
    "elements": (
        "Each player holds five cards: Wood (A), Fire (B), Earth (C), Metal (D) and Water (E).\n"
        "Generation: Wood generates Fire, Fire generates Earth, Earth generates Metal, Metal generates "
        "Water, and Water generates Wood.\n"
        "Overcoming: Wood overcomes Earth, Earth overcomes Water, Water overcomes Fire, Fire overcomes "
        "Metal, and Metal overcomes Wood.\n"
        "A round is judged from the card you play: if your card generates the opponent's card you "
        "lose, if your card overcomes the opponent's card you win, and in every other case (the same "
        "card, or the opponent's card generating or overcoming yours) the round is a draw."
    ),
    "stick_game": (
        "Each player holds four cards: Stick (A), Tiger (B), Chicken (C) and Worm (D). They beat each "
        "other in a cycle: Stick beats Tiger, Tiger beats Chicken, Chicken beats Worm, and Worm beats "
        "Stick. Two cards that are not neighbours in this cycle (Stick and Chicken, Tiger and Worm), "
        "or two equal cards, make a draw."
    ),
    "animal": (
        "Each player holds eight animal pieces, ranked from strongest to weakest: Elephant (A), Lion "
        "(B), Tiger (C), Leopard (D), Wolf (E), Dog (F), Cat (G) and Mouse (H). The stronger piece "
        "wins, with one exception: the Mouse beats the Elephant (and the Elephant loses to the "
        "Mouse). Two equal pieces make a draw."
    ),
}


def _question(game: str, mine: list[str], results: list[str]) -> str:
    rounds = "\n".join(
        f"Round {i}: you played {m}; result for you: {r}." for i, (m, r) in enumerate(zip(mine, results), 1)
    )
    return (
        "You and an opponent play a card game. In each round both players show one card at the same "
        "time, and every card can be played at most once by each player.\n\n"
        f"{_RULES[game]}\n\n"
        f"Here is what you played in each round and the result for you:\n{rounds}\n\n"
        "Work out which card the opponent played in each round. Give the final answer inside <<< and "
        ">>> as the opponent's cards in round order, as letters separated by commas, for example "
        "<<<A,B,C>>>."
    )


register_task(ConstrainedLinearArrangement)
