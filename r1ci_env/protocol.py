"""The R1-Code-Interpreter episode protocol as pure functions: prompts, code and answer extraction,
the observation format and action sanitising. No I/O here; `r1ci_env.env` applies these rules.

- A code block opens with three backticks and `python`, `py` or `python3` (any case, trailing spaces
  allowed) followed by a newline, and closes at the next three backticks. Other fences (```` ```bash ````,
  a bare ```` ``` ````) are prose.
- A turn counts as if generation had stopped at its first closing fence (the stop sequence agents use):
  the rest of the turn is dropped.
- The final answer is the content of the last `<<<...>>>` outside code blocks, stripped.
- Program output comes back as `"\\nCode Execution Results:\\n" + output + "\\n"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .sandbox.base import ExecResult

DEFAULT_MAX_CODE_CALLS = 5
DEFAULT_MAX_OBSERVATION_CHARS = 4096
MIN_OBSERVATION_CHARS = 256
OBSERVATION_LABEL = "Code Execution Results:"
DEFAULT_PROMPT_STYLE = "code_interpreter"

FENCE = "```"
_OPEN_FENCE = re.compile(r"```(?:python3|python|py)[ \t]*\r?\n", re.IGNORECASE)
_ANSWER_OPEN, _ANSWER_CLOSE = "<<<", ">>>"
_SURROGATE = re.compile("[\ud800-\udfff]")

_CODE_INTERPRETER = """\
Solve the task below. Reason about it step by step in plain text.

You may check your reasoning by running Python. To run code, write one complete, self-contained \
script in a fenced block that starts with ```python on its own line and ends with ```. The script \
must print everything you want to see. As soon as the block is closed it is executed, and what it \
printed (or the error it raised) is shown to you after the line `Code Execution Results:`; then \
you carry on reasoning. {state_rule} You may run code at most {max_code_calls} times.

Once you are confident, end with the final answer written between triple angle brackets, for \
example <<<42>>>. Write the answer itself there, not code that computes it. Only the last \
<<<...>>> in your reply is graded.

Task:
{question}"""

_TEXT_ONLY = """\
Solve the task below by reasoning step by step in plain text. Do not write or run any code; work \
everything out yourself.

End with the final answer written between triple angle brackets, for example <<<42>>>. Only the \
last <<<...>>> in your reply is graded.

Task:
{question}"""

_CODE_ALWAYS = """\
Solve the task below by writing a program. Start your reply with one complete, self-contained \
Python script in a fenced block that starts with ```python on its own line and ends with ```; the \
script must work out the answer and print it. As soon as the block is closed it is executed, and \
what it printed (or the error it raised) is shown to you after the line `Code Execution Results:`. \
If the output shows a mistake, fix the script and run it again; you may run code at most \
{max_code_calls} times. {state_rule}

Then give the final answer between triple angle brackets, for example <<<42>>>, taking it from the \
program's output. Only the last <<<...>>> in your reply is graded.

Task:
{question}"""

# What `{state_rule}` says: stateless runs (the default) or one interpreter per episode (stateful=True).
STATE_RULES = {
    False: "Every script starts from scratch: nothing defined in an earlier script is kept.",
    True: "All scripts of this task run in one interpreter: names defined by an earlier script are kept.",
}

PROMPT_STYLES: dict[str, str] = {
    "code_interpreter": _CODE_INTERPRETER,
    "text_only": _TEXT_ONLY,
    "code_always": _CODE_ALWAYS,
}


def prompt_template(template_or_style: str) -> str:
    """The template for a style name, or `template_or_style` itself when it is a template.

    A template is any string containing `{question}`; `{max_code_calls}` and `{state_rule}` are
    optional.
    """
    if template_or_style in PROMPT_STYLES:
        return PROMPT_STYLES[template_or_style]
    if "{question}" not in template_or_style:
        raise ValueError(
            f"prompt must be a style name ({', '.join(PROMPT_STYLES)}) or a template containing "
            f"{{question}}; got {template_or_style[:80]!r}"
        )
    return template_or_style


def render_prompt(
    question: str,
    template_or_style: str = DEFAULT_PROMPT_STYLE,
    max_code_calls: int = DEFAULT_MAX_CODE_CALLS,
    stateful: bool = False,
) -> str:
    """The first prompt of an episode.

    Placeholders are replaced with `str.replace`, not `str.format`, because questions contain braces;
    the question goes in last so that text inside it is never substituted.
    """
    template = prompt_template(template_or_style)
    filled = template.replace("{max_code_calls}", str(max_code_calls))
    return filled.replace("{state_rule}", STATE_RULES[stateful]).replace("{question}", question)


def extract_code(text: str) -> tuple[str | None, str, int]:
    """Split a turn at its first closed Python block.

    Returns `(code, kept_text, dropped_chars)`: `code` is the body of the first closed block (None when
    there is none; an unclosed block is not code), `kept_text` is the turn up to and including that
    block's closing fence (the whole turn when there is no closed block), and `dropped_chars` is how
    many characters came after it.
    """
    match = _OPEN_FENCE.search(text)
    if match is None:
        return None, text, 0
    close = text.find(FENCE, match.end())
    if close < 0:
        return None, text, 0
    end = close + len(FENCE)
    return text[match.end() : close], text[:end], len(text) - end


def _outside_code(text: str) -> Iterator[str]:
    """The stretches of `text` outside Python blocks; an unclosed block runs to the end."""
    pos = 0
    while True:
        match = _OPEN_FENCE.search(text, pos)
        if match is None:
            yield text[pos:]
            return
        yield text[pos : match.start()]
        close = text.find(FENCE, match.end())
        if close < 0:
            return
        pos = close + len(FENCE)


def _markers(segment: str) -> Iterator[str]:
    """Contents of `<<<...>>>` markers in order. A marker closes at the first run of three or more
    `>` after its opening, and the last three `>` of that run are the closing: `<<<a > b>>>>` holds
    `a > b>` (answers such as Dyck sequences end in `>`).

    A linear scan: an opening with no closing ends the search (no later opening can close either).
    """
    pos = 0
    while True:
        start = segment.find(_ANSWER_OPEN, pos)
        if start < 0:
            return
        run = segment.find(_ANSWER_CLOSE, start + len(_ANSWER_OPEN))
        if run < 0:
            return
        end = run + len(_ANSWER_CLOSE)
        while end < len(segment) and segment[end] == ">":
            end += 1
        yield segment[start + len(_ANSWER_OPEN) : end - len(_ANSWER_CLOSE)]
        pos = end


def extract_answer(text: str) -> str | None:
    """The stripped content of the last `<<<...>>>` outside Python blocks, or None when there is none.

    Markers inside code (closed blocks or an unclosed tail) do not count: a program that prints
    `<<<x>>>` has not answered. `<<<>>>` gives "". A marker may span lines but not a code block.
    """
    answers = [marker for segment in _outside_code(text) for marker in _markers(segment)]
    return answers[-1].strip() if answers else None


def _join_output(stdout: str, stderr: str) -> str:
    """stdout then stderr, with a newline between them unless stdout already ends with one."""
    if stdout and stderr and not stdout.endswith("\n"):
        return f"{stdout}\n{stderr}"
    return stdout + stderr


def _status_lines(result: ExecResult, timeout: float | None) -> list[str]:
    """Lines appended after the output: why the program stopped, and whether the sandbox cut it."""
    lines = []
    if result.timed_out:
        limit = timeout if timeout is not None else result.duration
        lines.append(f"TimeoutError: the program ran longer than {round(limit, 1):g} s and was stopped.")
    elif result.exit_code != 0 and not result.stderr:
        lines.append(f"(exit code {result.exit_code})")
    if result.truncated:
        lines.append("(the output was too long; the sandbox kept only its beginning and end)")
    return lines


def _cut_middle(text: str, budget: int) -> str:
    """`text` if it fits in `budget` characters, else its head and tail around an omission marker."""
    if len(text) <= budget:
        return text
    widest_marker = len(f"\n...[{len(text)} characters omitted]...\n")
    keep = max(budget - widest_marker, 0)
    head = keep // 2
    tail = keep - head
    marker = f"\n...[{len(text) - keep} characters omitted]...\n"
    return text[:head] + marker + text[len(text) - tail :]


def format_observation(
    result: ExecResult, max_chars: int = DEFAULT_MAX_OBSERVATION_CHARS, *, timeout: float | None = None
) -> str:
    """What the model sees after a run: `"\\nCode Execution Results:\\n" + output + "\\n"`.

    The output is stdout, then stderr, then a timeout line (naming `timeout`, else the measured
    duration) or `(exit code N)` for a silent non-zero exit, then a note when the sandbox had already
    cut the output. Trailing newlines are dropped; nothing visible gives `(no output)`. The program's
    text is cut in the middle so the whole observation is at most `max_chars` characters.
    """
    if max_chars < MIN_OBSERVATION_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_OBSERVATION_CHARS}, got {max_chars}")
    header, footer = f"\n{OBSERVATION_LABEL}\n", "\n"
    status = _status_lines(result, timeout)
    budget = max_chars - len(header) - len(footer) - sum(len(line) + 1 for line in status)
    body = _cut_middle(_join_output(result.stdout, result.stderr).rstrip("\n"), budget)
    output = "\n".join(([body] if body else []) + status) or "(no output)"
    return header + output + footer


def sanitize(action: object) -> str:
    """Turn an action into valid text without ever failing on content.

    Bytes are decoded as UTF-8 with U+FFFD for invalid sequences; in a `str`, surrogate pairs are joined
    and lone surrogates become U+FFFD. NUL and other control characters are legal text and kept.
    """
    if isinstance(action, (bytes, bytearray)):
        return bytes(action).decode("utf-8", errors="replace")
    if not isinstance(action, str):
        raise TypeError(f"an action must be str or bytes (the model's text), got {type(action).__name__}")
    text = str(action)
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
