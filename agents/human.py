"""The `human` agent: play an episode in the terminal.

It shows the prompt and then every observation, and reads your turn from standard input until a line
that holds a single `.` (or end of input). Write reasoning and one ```python block to run code (the
turn ends at the block's closing fence, as a model's would), or the final answer as <<<answer>>>.
A turn with neither ends the episode. Works with piped input, which is how it is tested.
"""
from __future__ import annotations

import sys
from typing import Any, TextIO

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

    @property
    def input(self) -> TextIO:
        return self._input if self._input is not None else sys.stdin

    @property
    def output(self) -> TextIO:
        return self._output if self._output is not None else sys.stdout

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        self._turn = 0
        label = f"{info.get('task', '?')} (instance {info.get('instance_id', '?')})"
        self._write(f"\n===== new episode: {label} =====\n")

    def act(self, observation: str, info: dict[str, Any]) -> str:
        self._turn += 1
        self._write(observation if observation.endswith("\n") else observation + "\n")
        self._write(f"----- your turn {self._turn} (end with a line holding only '{END_OF_TURN}', "
                    "or end of input) -----\n")
        lines = []
        for line in self.input:
            if line.rstrip("\r\n") == END_OF_TURN:
                break
            lines.append(line)
        text = "".join(lines)
        return text[:-1] if text.endswith("\n") else text

    def _write(self, text: str) -> None:
        self.output.write(text)
        self.output.flush()
