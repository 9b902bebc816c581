"""The `human` agent: play an episode in the terminal.

It shows the prompt and then every observation, and reads your turn from standard input until a line
that holds a single `.` (or end of input). Write reasoning and one ```python block to run code (the
turn ends at the block's closing fence, as a model's would), or the final answer as <<<answer>>>.
Each turn header says how many code runs are left. A turn with neither code nor an answer would end
the episode unanswered, so the agent asks first (end of input counts as yes). At a terminal, lines
are read with `readline` (arrow keys, history). Works with piped input, which is how it is tested.
`r1ci run` and `r1ci bench` show the gold answer after each episode.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any, TextIO

from r1ci_env import protocol

from .base import Agent

END_OF_TURN = "."


class HumanAgent(Agent):
    """Reads turns from `input` (default stdin) and writes what the model would see to `output`
    (default stdout). One episode at a time: the benchmark runs it with concurrency 1."""

    name = "human"
    interactive = True

    def __init__(self, input: TextIO | None = None, output: TextIO | None = None) -> None:
        self._input = input
        self._output = output
        self._turn = 0
        self._max_code_calls: int | None = None

    @property
    def input(self) -> TextIO:
        return self._input if self._input is not None else sys.stdin

    @property
    def output(self) -> TextIO:
        return self._output if self._output is not None else sys.stdout

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        self._turn = 0
        self._max_code_calls = getattr(getattr(env, "unwrapped", env), "max_code_calls", None)
        label = f"{info.get('task', '?')} (instance {info.get('instance_id', '?')})"
        self._write(f"\n===== new episode: {label} =====\n")

    def act(self, observation: str, info: dict[str, Any]) -> str:
        self._turn += 1
        self._write(observation if observation.endswith("\n") else observation + "\n")
        left = (
            ""
            if self._max_code_calls is None
            else f", {self._max_code_calls - int(info.get('code_calls', 0))} code run(s) left"
        )
        while True:
            self._write(
                f"----- your turn {self._turn}{left} (end with a line holding only '{END_OF_TURN}', "
                "or end of input) -----\n"
            )
            text, at_end = self._read_turn()
            if at_end or _has_code_or_answer(text) or self._confirm_ending():
                return text

    def _read_turn(self) -> tuple[str, bool]:
        """The lines up to the end-of-turn line; and whether input ended."""
        lines = []
        for line in self._lines():
            if line.rstrip("\r\n") == END_OF_TURN:
                text = "".join(lines)
                return (text[:-1] if text.endswith("\n") else text), False
            lines.append(line)
        text = "".join(lines)
        return (text[:-1] if text.endswith("\n") else text), True

    def _confirm_ending(self) -> bool:
        self._write(
            "This turn has no ```python block and no <<<answer>>>: it ends the episode without an answer. "
            "End it? [y/N]\n"
        )
        for line in self._lines():
            return line.strip().lower() in ("y", "yes")
        return True  # end of input

    def _lines(self) -> Iterator[str]:
        """Input lines; at an interactive terminal through `input()` with readline's line editing."""
        if self._input is None and sys.stdin.isatty():
            try:
                import readline  # noqa: F401 - importing it turns line editing on for input()
            except ImportError:
                pass
            while True:
                try:
                    yield input() + "\n"
                except EOFError:
                    return
        else:  # not `yield from`: closing this generator must not close the stream
            while line := self.input.readline():
                yield line

    def _write(self, text: str) -> None:
        self.output.write(text)
        self.output.flush()


def _has_code_or_answer(text: str) -> bool:
    return protocol.extract_code(text)[0] is not None or protocol.extract_answer(text) is not None
