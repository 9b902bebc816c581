"""BIG-Bench-Hard: one task class serving the 27 BBH subtasks from the public data files, registered
as "bbh.<subtask>" (for example "bbh.web_of_lies", "bbh.dyck_languages").

Instances are the file's examples in order (seed s -> example s % n). Scoring is exact match with
no model in the loop (CodeSteer grades BBH with a GPT-4o judge; this project does not).

Each subtask's answer type was read off its targets (tests/test_task_bbh.py re-derives it from the
data and checks it against `ANSWER_TYPE`):

Multiple-choice (17; target "(A)", "(B)", ... naming one of the question's "(X) text" lines):
date_understanding, disambiguation_qa, geometric_shapes, hyperbaton,
logical_deduction_{three,five,seven}_objects, movie_recommendation, penguins_in_a_table,
reasoning_about_colored_objects, ruin_names, salient_translation_error_detection, snarks,
temporal_sequences, tracking_shuffled_objects_{three,five,seven}_objects.

Free-form (10):
- yes_no: causal_judgement, navigate, web_of_lies ("Yes"/"No"), sports_understanding ("yes"/"no");
  causal_judgement and navigate list "- Yes / - No" as unlettered options, still free-form words.
- true_false: boolean_expressions ("True"/"False").
- valid_invalid: formal_fallacies ("valid"/"invalid").
- integer: multistep_arithmetic_two, object_counting.
- closing_brackets: dyck_languages (the brackets that close the given prefix, e.g. "] ] >").
- sorted_words: word_sorting (the words in alphabetical order, space-separated).

What each checker accepts:
- option: a label "A", "(A)", "(a)", "A)"; a label followed by exactly that option's text; or the
  text of exactly one option (case-insensitive, whitespace collapsed). Three targets are literal
  text, not labels, because their answer's text contains commas and the option list was split at
  them upstream (movie_recommendation #163 "Monsters, Inc" = options (A)+(B); ruin_names #99
  "dearth, wind, & fire" = (I)+(J)+(K); ruin_names #144 "rita, sue and bob poo" = (C)+(D)). For
  those the text itself is accepted (case-insensitive, whitespace collapsed) or the full run of
  fragment labels ("(A) (B)", "A, B"); one fragment label alone is not.
- yes_no / true_false / valid_invalid: the word, case-insensitive, optionally quoted or followed by
  a full stop ("invalid" never matches "valid").
- integer: compared as integers (sign, Unicode minus, thousands commas and spaces allowed).
- closing_brackets: the bracket sequence compared token by token, whitespace and commas ignored;
  only the brackets to append (not the whole completed sequence), as the question asks. 68 of the
  250 targets end with ">", and the answer marker closes at the first ">>>", so "<<<] ] >>>>" reads
  as "] ]": the question asks for a space before the closing ">>>" ("<<<] ] > >>>").
- sorted_words: the word sequence compared case-insensitively, split on whitespace and commas.

Reference solutions: boolean_expressions, multistep_arithmetic_two, dyck_languages and word_sorting
are computed from the question's input (evaluation, a bracket stack, sorting). The other subtasks'
answers cannot be computed by code, so their reference prints the stored target; it shows the
checker is reachable, not that the task is solvable by code.

Data defects kept as they are (the project serves BBH unchanged): causal_judgement has two pairs of
identical questions with opposite targets (#32/#119, #36/#104), so `num_questions()` counts 185
distinct questions of 187 examples; sports_understanding repeats two questions with the same target
(248 distinct of 250); snarks #86 lists the same sentence as (A) and (B) (target (A)); snarks #88 is
truncated after "(A) The NB" (target (A)).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..data import fetch
from .base import Instance, Task, TaskConfig
from .common import (
    chosen_option,
    collapse_whitespace,
    option_label_sequence,
    option_letter,
    parse_int,
    parse_options,
    plain_word,
)
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

# Subtask -> answer type (a key of ANSWER_TYPES), read off each data file's targets.
_MULTIPLE_CHOICE = (
    "date_understanding", "disambiguation_qa", "geometric_shapes", "hyperbaton",
    "logical_deduction_three_objects", "logical_deduction_five_objects", "logical_deduction_seven_objects",
    "movie_recommendation", "penguins_in_a_table", "reasoning_about_colored_objects", "ruin_names",
    "salient_translation_error_detection", "snarks", "temporal_sequences",
    "tracking_shuffled_objects_three_objects", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
)  # fmt: skip
ANSWER_TYPE: dict[str, str] = {
    **dict.fromkeys(_MULTIPLE_CHOICE, "option"),
    **dict.fromkeys(("causal_judgement", "navigate", "sports_understanding", "web_of_lies"), "yes_no"),
    "boolean_expressions": "true_false",
    "formal_fallacies": "valid_invalid",
    "multistep_arithmetic_two": "integer",
    "object_counting": "integer",
    "dyck_languages": "closing_brackets",
    "word_sorting": "sorted_words",
}

_OPTION_TARGET = re.compile(r"\([A-Z]\)")
_BRACKETS = {"(": ")", "[": "]", "{": "}", "<": ">"}


# ---------------------------------------------------------------- checkers, one per answer type


def _check_option(answer: str, target: str, options: dict[str, str]) -> bool:
    if _OPTION_TARGET.fullmatch(target):
        return chosen_option(answer, options) == option_letter(target)
    # A literal-text target (an answer whose text the option list split at its commas).
    if _comma_text(answer) == _comma_text(target):
        return True
    labels = option_label_sequence(answer)
    return labels is not None and labels in _fragment_runs(target, options)


def _comma_text(text: str) -> str:
    return re.sub(r"\s*,\s*", ", ", collapse_whitespace(text)).casefold()


def _fragment_runs(target: str, options: dict[str, str]) -> list[list[str]]:
    """Runs of consecutive options (two or more) whose texts joined by ", " spell `target`."""
    letters = list(options)
    runs = []
    for start in range(len(letters)):
        for stop in range(start + 2, len(letters) + 1):
            joined = ", ".join(options[letter] for letter in letters[start:stop])
            if _comma_text(joined) == _comma_text(target):
                runs.append(letters[start:stop])
    return runs


def _check_word(answer: str, target: str, options: dict[str, str]) -> bool:
    return plain_word(answer) == plain_word(target)


def _check_integer(answer: str, target: str, options: dict[str, str]) -> bool:
    return parse_int(answer) == int(target)


def _check_brackets(answer: str, target: str, options: dict[str, str]) -> bool:
    return re.sub(r"[\s,]+", "", answer) == re.sub(r"\s+", "", target)


def _check_words(answer: str, target: str, options: dict[str, str]) -> bool:
    return re.split(r"[\s,]+", answer.strip(" \t\n,").casefold()) == target.casefold().split()


@dataclass(frozen=True)
class AnswerType:
    """How a subtask's answer is asked for (the question's last sentence) and checked."""

    instruction: str
    check: Callable[[str, str, dict[str, str]], bool]


ANSWER_TYPES: dict[str, AnswerType] = {
    "option": AnswerType("as the label of the option you choose, for example <<<(A)>>>", _check_option),
    "yes_no": AnswerType("as Yes or No", _check_word),
    "true_false": AnswerType("as True or False", _check_word),
    "valid_invalid": AnswerType("as valid or invalid", _check_word),
    "integer": AnswerType("as an integer", _check_integer),
    "closing_brackets": AnswerType(
        "as only the closing brackets that must be appended to the sequence, in order, separated by "
        "spaces, with a space before the closing >>> (for example <<<] ) > >>>)",
        _check_brackets,
    ),
    "sorted_words": AnswerType("as the sorted words separated by spaces", _check_words),
}


# ---------------------------------------------------------------- computed reference solutions


def _solve_boolean_expression(text: str) -> str:
    expression = text.removesuffix(" is")
    if not re.fullmatch(r"(?:\s*(?:True|False|and|or|not|\(|\)))+\s*", expression):
        raise ValueError(f"not a boolean expression: {text!r}")
    return f"value = {expression}\nprint(value)\n"


def _solve_arithmetic(text: str) -> str:
    expression = text.removesuffix(" =")
    if not re.fullmatch(r"[0-9\s+\-*()]+", expression):
        raise ValueError(f"not an integer expression: {text!r}")
    return f"value = {expression}\nprint(value)\n"


def _solve_dyck(text: str) -> str:
    prefix = text.rsplit("Input:", 1)[1].split()
    if not prefix or not all(token in "()[]{}<>" and len(token) == 1 for token in prefix):
        raise ValueError(f"not a bracket sequence: {text!r}")
    return (
        f"prefix = {prefix!r}\n"
        f"closer = {_BRACKETS!r}\n"
        "stack = []\n"
        "for token in prefix:\n"
        "    if token in closer:\n"
        "        stack.append(closer[token])\n"
        "    else:\n"
        "        assert stack.pop() == token\n"
        "print(' '.join(reversed(stack)))\n"
    )


def _solve_word_sorting(text: str) -> str:
    words = text.rsplit("List:", 1)[1].split()
    return f"words = {words!r}\nprint(' '.join(sorted(words)))\n"


_SOLVERS: dict[str, Callable[[str], str]] = {
    "boolean_expressions": _solve_boolean_expression,
    "multistep_arithmetic_two": _solve_arithmetic,
    "dyck_languages": _solve_dyck,
    "word_sorting": _solve_word_sorting,
}


# ---------------------------------------------------------------- the task


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

    @property
    def answer_type(self) -> str:
        return ANSWER_TYPE[self.config.subtask]

    @functools.cached_property
    def examples(self) -> list[dict[str, Any]]:
        """The subtask's examples (`input`, `target`), read (and downloaded if needed) on first use."""
        sub = self.config.subtask
        path = fetch(f"bbh/{sub}.json", URL.format(subtask=sub), SHA256[sub])
        return json.loads(path.read_text(encoding="utf-8"))["examples"]

    def generate(self, seed: int) -> Instance:
        index = seed % len(self.examples)
        example = self.examples[index]
        instruction = ANSWER_TYPES[self.answer_type].instruction
        return Instance(
            question=f"{example['input']}\n\nGive your final answer inside <<< and >>>, {instruction}.",
            gold=example["target"],
            instance_id=f"{self.config.subtask}#{index}",
            metadata={"subtask": self.config.subtask, "index": index, "answer_type": self.answer_type},
        )

    def score(self, answer: str, instance: Instance) -> float:
        options = parse_options(instance.question) if self.answer_type == "option" else {}
        return 1.0 if ANSWER_TYPES[self.answer_type].check(answer, instance.gold, options) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        solver = _SOLVERS.get(self.config.subtask)
        if solver is not None:
            return solver(self.examples[instance.metadata["index"]]["input"])
        return f"# This subtask's answers cannot be computed: print the stored target.\nprint({instance.gold!r})\n"

    def num_questions(self) -> int | None:
        """Distinct questions: fewer than the examples where a file repeats a question."""
        return len({example["input"] for example in self.examples})


def matches_target(answer: str, target: str, answer_type: str, options: dict[str, str] | None = None) -> bool:
    """Whether `answer` equals the BBH `target` under the checker of `answer_type` (a key of
    `ANSWER_TYPES`); `options` are the question's lettered options (label -> text)."""
    return ANSWER_TYPES[answer_type].check(answer, target, options or {})


for _subtask in SHA256:
    register_task(BBHTask, name=f"bbh.{_subtask}", subtask=_subtask)
