"""BIG-Bench-Hard: one task class serving any of the 27 BBH subtasks from the public data files.

Instances are the file's examples in order (seed s -> example s % n). Scoring is exact match with
no model in the loop: option targets accept "A", "(A)", "(a)", or the label followed by that
option's exact text; integer targets compare as integers; other targets compare case-insensitively
with whitespace collapsed. BBH answers cannot be computed, so the reference solution prints the
stored target; it shows the checker is reachable, not that the task is solvable by code.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from ..data import fetch
from .base import Instance, Task, TaskConfig
from .common import chosen_option, collapse_whitespace, option_letter, parse_int, parse_options
from .registry import register_task

URL = "https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/9ee07bd/bbh/{subtask}.json"
SHA256 = {
    "boolean_expressions": "ea6c754ec005e2d3f2d085d349a740f593b5764f32ea4638ffed4cfc0061b12a",
    "causal_judgement": "6e8bca44dd402008ed41c07a3d0a1d5e7b03db7001a7e002fcdf4c60985ea081",
    "date_understanding": "0148d4ac5fca05b2f82373e5fef7208e15363b9c6079493034d77b3dab496bf5",
    "disambiguation_qa": "cf06df9ebf911b883671cb1b35d3fbd1a1c306b19b9e9a012407e596c85fe8c6",
    "dyck_languages": "3f9badedf15c2be1ce53d94fdf016299bb30ba231ef087ab9f51a7ed6d0bdc25",
    "formal_fallacies": "4c1adb664821157faade1d4153685403afcc02648f3c180a608a18f17f589629",
    "geometric_shapes": "07be68a124420caa2ebc0b2c858ad79fc55c5c8806170e496e1e17ebfb11f31c",
    "hyperbaton": "b6d7f55c75f5d02f2987a4f3123802dfa093872089a56a334144aae8a7264fdc",
    "logical_deduction_five_objects": "d2df31394b903b7f0e085d42a69572a092987856eac076799017d70ef266fa8f",
    "logical_deduction_seven_objects": "2896c7e3482eea318dd37bcc370d24ec3cc91e8374c1784287b5dbd38a529e33",
    "logical_deduction_three_objects": "e590fae72e3a6041fbd23bd8ff6b74baf44ca563f6ba40a041c55e7b867c1681",
    "movie_recommendation": "a8b53a87ee21a865b7248e694f388a9b8f7cf6b839b11d44796a2dd3fc088983",
    "multistep_arithmetic_two": "c9d5a6433c9b78256422a15c78463949c8bec8d85607aa28b52d7234ad4a8595",
    "navigate": "b7944dfd3c81da5c4815bd75b00d6fa3c64140823498e78ed496f4c3d36f7f0d",
    "object_counting": "8acef14dbbdd40d2326ef7755750b6b5fe919fef06276af1bab3f1c297f022ff",
    "penguins_in_a_table": "bb87ee449698eee51215e025a453b1bcb2f5e6589c2063b2c79e68b8f0655228",
    "reasoning_about_colored_objects": "0a8850cf95166020fce7a78244026ceedd7ea839302471512b4f8744e85a6a49",
    "ruin_names": "b6f723aef2bafdd4c7bfc3c7e0329c7e8a8279391a609969c8ed76c9319f5f7f",
    "salient_translation_error_detection": "becf3eb8dd53c821a555ecd5c1334ecd93eb25f980e63be963c518e7138de5da",
    "snarks": "54a0661fe2de06167645a4965e6bcf963c4ba307e76262a7c750998b0e3d0d0e",
    "sports_understanding": "63ca262858f6176864515cd8cf53cdaa40839ebecc155b726d77930855d167bf",
    "temporal_sequences": "92a1189faaa84aacc4c405aaa13f13f48c2992eb884772eedb622505252baef5",
    "tracking_shuffled_objects_five_objects": "2063a46a4fb484236ed4310523606543a3e1dd4a4dc34eda65d407910ece25a5",
    "tracking_shuffled_objects_seven_objects": "b59fd05b850c37cf57cb514ae1e6975c00b1638ade2291722056b2af3c54084d",
    "tracking_shuffled_objects_three_objects": "546cc7bf10c6a01a6a4c17ae28a4966485f21f29fd5d111f37858ec78e354f6b",
    "web_of_lies": "3e60323f8514a107fdb4edf35f8832a9171c5a09c0eaa47823559de905e8ab8b",
    "word_sorting": "2a6132d2c99f00d0d2eb1113ac6b4a918bd969d863c48749210d969713db8d43",
}
_OPTION_TARGET = re.compile(r"\([A-Z]\)")


@dataclass
class BBHConfig(TaskConfig):
    """subtask: which BBH file to serve (one of the 27 names in `SHA256`). Fixed at registration."""

    subtask: str = "date_understanding"


class BBHTask(Task):
    name = "bbh"
    source = "bbh"
    category = "reasoning"
    checker = "EM"
    config_class = BBHConfig
    config: BBHConfig

    def validate_config(self) -> None:
        if self.config.subtask not in SHA256:
            raise ValueError(f"unknown BBH subtask {self.config.subtask!r}; known: {', '.join(SHA256)}")

    @functools.cached_property
    def examples(self) -> list[dict[str, Any]]:
        """The subtask's examples (`input`, `target`), read (and downloaded if needed) on first use."""
        sub = self.config.subtask
        path = fetch(f"bbh/{sub}.json", URL.format(subtask=sub), SHA256[sub])
        return json.loads(path.read_text(encoding="utf-8"))["examples"]

    def generate(self, seed: int) -> Instance:
        index = seed % len(self.examples)
        example = self.examples[index]
        return Instance(
            question=_question(example["input"]),
            gold=example["target"],
            instance_id=f"{self.config.subtask}#{index}",
            metadata={"subtask": self.config.subtask, "index": index},
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if matches_target(answer, instance.gold, parse_options(instance.question)) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return f"# BBH answers cannot be computed; print the stored target.\nprint({instance.gold!r})\n"

    def num_questions(self) -> int | None:
        return len(self.examples)


def _question(text: str) -> str:
    ending = "Give your final answer inside <<< and >>>"
    if parse_options(text):
        ending += ", as the label of the option you choose, for example <<<(A)>>>"
    return f"{text}\n\n{ending}."


def matches_target(answer: str, target: str, options: dict[str, str]) -> bool:
    """Whether `answer` equals the BBH `target` under the normalisation in the module docstring."""
    if _OPTION_TARGET.fullmatch(target):
        return chosen_option(answer, options) == option_letter(target)
    if parse_int(target) is not None:
        return parse_int(answer) == int(target)
    return collapse_whitespace(answer).casefold() == collapse_whitespace(target).casefold()


register_task(BBHTask, name="bbh.date_understanding", subtask="date_understanding")
