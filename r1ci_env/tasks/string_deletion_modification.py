"""String Deletion and Modification (SymBench): rewrite a string with an ordered list of rules until
none applies, and give the final string.

Procedure (what CodeSteer's answers do): in every step the rules are checked in order and only the
first one whose condition holds is applied, once; the next step starts again from the first rule;
the process stops when no condition holds. CodeSteer's question says "cycle through the operations
one at a time", which reads as round-robin and disagrees with its own answers; the question here
states the procedure its answers follow (all 100 official answers and intermediate states are
reproduced by it).

Rules come from a catalogue of 20 (the kinds CodeSteer uses: replace or delete the first occurrence
of a substring, delete an occurrence after the first character, change a prefix or suffix with an
extra append / prepend / drop, delete the middle character of a long string, append when the count
of a letter is even). Generated instances draw `num_rules` of them in random order and a random
string over a, b, c; draws whose process does not stop (a repeated string), that take fewer than
`min_steps` steps, or that end with the empty string are redrawn. `instances=<dir>` serves the official
instances (`initial_string` and `selected_rules` of `sample_<i>/solution.json`), rebuilt in this
project's wording.

Checker (EM): the final string, compared after removing surrounding whitespace and one pair of
quotes, case-insensitively (all strings are lower-case).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from random import Random

from .base import Instance
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

MAX_ATTEMPTS = 10_000

# A rule is a JSON-friendly list whose first item is its kind:
#   ["replace_first", pattern, replacement]    first occurrence of pattern -> replacement ("" deletes)
#   ["delete_after_start", pattern]            delete the first occurrence starting at index >= 1
#   ["even_append", letter, text]              letter occurs a non-zero even number of times -> append text
#   ["prefix", old, new, append, drop_last]    starts with old -> new + rest (+ append) (minus last char)
#   ["suffix", old, new, prepend]              ends with old -> (prepend +) rest + new
#   ["shorten_middle", limit]                  longer than limit -> delete the character at index len // 2
CATALOGUE: list[list] = [
    ["replace_first", "abc", "cab"],
    ["replace_first", "acb", "bca"],
    ["replace_first", "bca", ""],
    ["delete_after_start", "ca"],
    ["even_append", "b", "ab"],
    ["suffix", "aa", "cc", ""],
    ["suffix", "ba", "ab", ""],
    ["suffix", "ca", "c", ""],
    ["suffix", "ac", "cb", ""],
    ["suffix", "bb", "", ""],
    ["suffix", "cc", "b", "a"],
    ["shorten_middle", 15],
    ["prefix", "aa", "a", "", 0],
    ["prefix", "ab", "ca", "", 0],
    ["prefix", "bc", "", "aa", 0],
    ["prefix", "ca", "bb", "c", 0],
    ["prefix", "cb", "aa", "", 1],
    ["prefix", "ac", "zz", "", 0],
    ["prefix", "bb", "b", "", 0],
    ["prefix", "cc", "", "", 0],
]


@dataclass
class StringDeletionModificationConfig(SymBenchConfig):
    """Generator knobs. The defaults are CodeSteer's: 6 of the 20 catalogue rules, strings of 10-20
    letters over a, b, c, and at least 4 rewriting steps.

    num_rules: how many catalogue rules an instance uses (1-20), in random order.
    min_length, max_length: length of the starting string (at least 1).
    min_steps: the fewest rewriting steps a generated instance takes (0 allows none).
    instances: official instances (`<dir>/sample_<i>/solution.json` with
        `initial_string` and `selected_rules`, e.g. `symbench/string_deletion_and_modification`).
    """

    num_rules: int = 6
    min_length: int = 10
    max_length: int = 20
    min_steps: int = 4


class StringDeletionModification(SymBenchTask):
    name = "StringDeletionModification"
    category = "execution"
    checker = "EM"
    config_class = StringDeletionModificationConfig
    config: StringDeletionModificationConfig
    instance_file = "solution.json"

    def validate_config(self) -> None:
        c = self.config
        if not 1 <= c.num_rules <= len(CATALOGUE):
            raise ValueError(f"StringDeletionModification needs 1 <= num_rules <= {len(CATALOGUE)}")
        self.check_range("length", low=1)
        if not 0 <= c.min_steps <= 100:
            raise ValueError("StringDeletionModification needs 0 <= min_steps <= 100")

    def read_instance(self, path: Path, instance_id: str) -> tuple[str, list[list], list[str]]:
        text, rules = read_instance(path)
        return text, rules, rewrite(text, rules)

    def build(self, problem: tuple[str, list[list], list[str]], instance_id: str) -> Instance:
        text, rules, steps = problem
        return Instance(
            question=_question(text, rules),
            gold=steps[-1],
            instance_id=instance_id,
            metadata={"initial": text, "rules": rules, "steps": len(steps) - 1},
        )

    def sample(self, rng: Random) -> tuple[str, list[list], list[str]]:
        c = self.config
        for _ in range(MAX_ATTEMPTS):
            rules = [list(rule) for rule in rng.sample(CATALOGUE, c.num_rules)]
            text = "".join(rng.choice("abc") for _ in range(rng.randint(c.min_length, c.max_length)))
            try:
                steps = rewrite(text, rules)
            except RuntimeError:  # the process never stops
                continue
            if len(steps) - 1 >= c.min_steps and steps[-1]:
                return text, rules, steps
        raise RuntimeError(f"StringDeletionModification: no suitable instance found for {c}; lower min_steps")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if _unquote(answer).lower() == instance.gold else 0.0

    def reference_solution(self, instance: Instance) -> str:
        rules, text = instance.metadata["rules"], instance.metadata["initial"]
        return solver_program(
            rewrite,
            comment="Apply the first rule whose condition holds, again and again, until none holds.",
            main=f"rules = {json.dumps(rules)}\nprint(rewrite({text!r}, rules)[-1])\n",
        )


def _unquote(answer: str) -> str:
    text = answer.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


# ---------------------------------------------------------------- the process


def rewrite(text, rules):
    """Every string of the process, from `text` to the final one: each step applies the first rule
    (in order) whose condition holds. Raises RuntimeError if the process repeats a string."""

    def step(s, rule):
        kind = rule[0]
        if kind == "replace_first":
            i = s.find(rule[1])
            return None if i < 0 else s[:i] + rule[2] + s[i + len(rule[1]) :]
        if kind == "delete_after_start":
            i = s.find(rule[1], 1)
            return None if i < 0 else s[:i] + s[i + len(rule[1]) :]
        if kind == "even_append":
            n = s.count(rule[1])
            return s + rule[2] if n and n % 2 == 0 else None
        if kind == "prefix":
            if not s.startswith(rule[1]):
                return None
            t = rule[2] + s[len(rule[1]) :] + rule[3]
            return t[:-1] if rule[4] else t
        if kind == "suffix":
            return rule[3] + s[: len(s) - len(rule[1])] + rule[2] if s.endswith(rule[1]) else None
        if kind == "shorten_middle":
            return s[: len(s) // 2] + s[len(s) // 2 + 1 :] if len(s) > rule[1] else None
        raise ValueError(f"unknown rule {rule!r}")

    states, seen = [text], {text}
    while True:
        for rule in rules:
            new = step(states[-1], rule)
            if new is not None:
                break
        else:
            return states
        if new in seen or len(states) > 1000:
            raise RuntimeError("the rewriting never stops")
        states.append(new)
        seen.add(new)


# ---------------------------------------------------------------- question and official files


def describe_rule(rule: list) -> str:
    """The rule in words."""
    kind = rule[0]
    if kind == "replace_first":
        action = f"replace it with '{rule[2]}'" if rule[2] else "delete it"
        return f"If '{rule[1]}' occurs in the string, take its leftmost occurrence and {action}."
    if kind == "delete_after_start":
        return (
            f"If '{rule[1]}' occurs in the string starting at the second character or later, delete the "
            "leftmost such occurrence (an occurrence at the very start does not count)."
        )
    if kind == "even_append":
        letter, text = rule[1], rule[2]
        return (
            f"If the string holds at least one '{letter}' and the number of '{letter}'s is even, "
            f"add '{text}' at the end."
        )
    if kind == "prefix":
        change = f"change that beginning to '{rule[2]}'" if rule[2] else "remove that beginning"
        extra = f", then add '{rule[3]}' at the end" if rule[3] else ""
        extra += ", then remove the last character" if rule[4] else ""
        return f"If the string begins with '{rule[1]}', {change}{extra}."
    if kind == "suffix":
        change = f"change that ending to '{rule[2]}'" if rule[2] else "remove that ending"
        extra = f", then add '{rule[3]}' at the front" if rule[3] else ""
        return f"If the string ends with '{rule[1]}', {change}{extra}."
    if kind == "shorten_middle":
        return (
            f"If the string is longer than {rule[1]} characters, delete its middle character (for a "
            "length n, the character at position n // 2 + 1, counting positions from 1)."
        )
    raise ValueError(f"unknown rule {rule!r}")


def _question(text: str, rules: list[list]) -> str:
    listed = "\n".join(f"{i}. {describe_rule(rule)}" for i, rule in enumerate(rules, 1))
    return (
        f'Start from the string "{text}" and rewrite it with these rules:\n\n{listed}\n\n'
        "Work in steps. In each step, check the rules in the order listed and apply only the first rule "
        "whose condition holds, once; the next step starts checking from rule 1 again. Stop when no "
        "rule's condition holds.\n\n"
        "What is the final string? Give it inside <<< and >>> in double quotes, for example "
        '<<< "abcab" >>>.'
    )


_HAS = r"If the string contains "
_ENDS = r"If the string (?:ends with|suffix is) "
_STARTS = r"If the string (?:prefix is|starts with) "
_OFFICIAL_RULES = [  # CodeSteer's phrasings -> a function of the match giving the rule
    (
        _HAS + r"'(\w+)', replace the first occurrence with (?:its reverse \()?'(\w+)'\)?\.",
        lambda m: ["replace_first", m[1], m[2]],
    ),
    (_HAS + r"'(\w+)', delete the first occurrence entirely\.", lambda m: ["replace_first", m[1], ""]),
    (
        _HAS + r"'(\w+)' \(not at the start\), remove the first occurrence found after the first character\.",
        lambda m: ["delete_after_start", m[1]],
    ),
    (
        _HAS + r"an even number of '(\w)'s \(and at least one '\1'\), append '(\w+)' at the end\.",
        lambda m: ["even_append", m[1], m[2]],
    ),
    (_ENDS + r"'(\w+)', replace it with '(\w+)'\.", lambda m: ["suffix", m[1], m[2], ""]),
    (_ENDS + r"'(\w+)', remove the last character\.", lambda m: ["suffix", m[1], m[1][:-1], ""]),
    (_ENDS + r"'(\w\w)', delete the last two characters\.", lambda m: ["suffix", m[1], "", ""]),
    (
        _ENDS + r"'(\w+)', replace it with '(\w+)' and prepend '(\w+)' to the start\.",
        lambda m: ["suffix", m[1], m[2], m[3]],
    ),
    (
        r"If the string length is greater than (\d+), remove the middle character\.",
        lambda m: ["shorten_middle", int(m[1])],
    ),
    (
        _STARTS + r"'(\w+)', (?:replace it|replace the first two characters) with '(\w+)'\.",
        lambda m: ["prefix", m[1], m[2], "", 0],
    ),
    (_STARTS + r"'(\w\w)', remove the first character\.", lambda m: ["prefix", m[1], m[1][1:], "", 0]),
    (_STARTS + r"'(\w\w)', remove the second character\.", lambda m: ["prefix", m[1], m[1][0], "", 0]),
    (_STARTS + r"'(\w\w)', (?:remove|delete) the first two characters\.", lambda m: ["prefix", m[1], "", "", 0]),
    (
        _STARTS + r"'(\w\w)', delete the first two characters and append '(\w+)' to the end\.",
        lambda m: ["prefix", m[1], "", m[2], 0],
    ),
    (
        _STARTS + r"'(\w+)', replace it with '(\w+)' and append '(\w+)' to the end\.",
        lambda m: ["prefix", m[1], m[2], m[3], 0],
    ),
    (
        _STARTS + r"'(\w+)', replace it with '(\w+)' and delete the last character\.",
        lambda m: ["prefix", m[1], m[2], "", 1],
    ),
]


def parse_official_rule(text: str) -> list:
    """The rule an official `selected_rules` entry describes."""
    for pattern, build in _OFFICIAL_RULES:
        match = re.fullmatch(pattern, text.strip())
        if match:
            return build(match)
    raise ValueError(f"unrecognised rule: {text!r}")


def read_instance(path: Path) -> tuple[str, list[list]]:
    """The starting string and the rules of an official `solution.json`."""
    data = json.loads(path.read_text())
    text = data["initial_string"]
    if not isinstance(text, str) or not text:
        raise ValueError(f"{path}: `initial_string` must be a non-empty string")
    try:
        rules = [parse_official_rule(rule) for rule in data["selected_rules"]]
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return text, rules


register_task(StringDeletionModification)
