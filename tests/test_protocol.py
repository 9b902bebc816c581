"""The episode protocol's pure functions: prompts, code and answer extraction, observations, sanitising."""

from __future__ import annotations

import time

import pytest

from r1ci_env import protocol
from r1ci_env.protocol import (
    OBSERVATION_LABEL,
    PROMPT_STYLES,
    extract_answer,
    extract_code,
    format_observation,
    render_prompt,
    sanitize,
)
from r1ci_env.sandbox import ExecResult

FENCE = "`" * 3


def block(code: str, tag: str = "python") -> str:
    return f"{FENCE}{tag}\n{code}\n{FENCE}"


# ---------------------------------------------------------------- constants and prompts


def test_constants():
    assert protocol.DEFAULT_MAX_CODE_CALLS == 5
    assert OBSERVATION_LABEL == "Code Execution Results:"
    assert set(PROMPT_STYLES) == {"code_interpreter", "text_only", "code_always"}


@pytest.mark.parametrize("style", sorted(PROMPT_STYLES))
def test_every_style_holds_the_question_and_the_answer_format(style):
    prompt = render_prompt("How many legs has a spider?", style, 3)
    assert prompt.endswith("How many legs has a spider?")
    assert "<<<" in prompt and ">>>" in prompt
    assert "{question}" not in prompt and "{max_code_calls}" not in prompt


def test_code_styles_state_the_call_cap_and_the_label():
    for style in ("code_interpreter", "code_always"):
        prompt = render_prompt("q", style, 7)
        assert "at most 7 times" in prompt
        assert OBSERVATION_LABEL in prompt
        assert f"{FENCE}python" in prompt


def test_text_only_forbids_code():
    prompt = render_prompt("q", "text_only", 5)
    assert "Do not write or run any code" in prompt
    assert OBSERVATION_LABEL not in prompt


def test_default_style_is_code_interpreter():
    assert render_prompt("q") == render_prompt("q", "code_interpreter", protocol.DEFAULT_MAX_CODE_CALLS)


def test_braces_and_placeholders_in_the_question_are_left_alone():
    question = "Fill {x} in f'{y:>3}' and say {max_code_calls} or {question}."
    prompt = render_prompt(question, "code_interpreter", 2)
    assert prompt.endswith(question)


def test_user_template():
    template = "Rules: {max_code_calls} calls.\nQ: {question}\nGo."
    assert render_prompt("what?", template, 4) == "Rules: 4 calls.\nQ: what?\nGo."
    assert render_prompt("what?", "Q: {question}", 4) == "Q: what?"


@pytest.mark.parametrize("template", ["Answer it: {max_code_calls}", "text-only", "", "{Question}"])
def test_template_without_question_is_rejected(template):
    with pytest.raises(ValueError, match="question"):
        render_prompt("q", template, 5)


# ---------------------------------------------------------------- code extraction


def test_extract_code_cuts_after_the_first_closed_block():
    text = "Let me compute.\n" + block("print(6*7)") + "\nThe answer is <<<42>>>"
    code, kept, dropped = extract_code(text)
    assert code == "print(6*7)\n"
    assert kept == "Let me compute.\n" + block("print(6*7)")
    assert dropped == len("\nThe answer is <<<42>>>")
    assert kept + text[len(kept) :] == text


@pytest.mark.parametrize("tag", ["python", "py", "python3", "Python", "PY", "PYTHON3", "python  ", "python\r"])
def test_accepted_opening_fences(tag):
    code, _, _ = extract_code(block("x = 1", tag))
    assert code == "x = 1\n"


@pytest.mark.parametrize(
    "text",
    [
        block("echo hi", "bash"),
        block("print(1)", ""),
        block("print(1)", "pyx"),
        block("print(1)", "python2"),
        f"{FENCE}python print(1){FENCE}",  # no newline after the tag
        "print(1)",
        "",
    ],
)
def test_not_a_python_block(text):
    assert extract_code(text) == (None, text, 0)


def test_unclosed_block_is_not_code():
    text = "Plan:\n" + f"{FENCE}python\nprint(1)\n"
    assert extract_code(text) == (None, text, 0)


def test_several_blocks_only_the_first_counts():
    first, second = block("print(1)"), block("print(2)")
    text = f"a\n{first}\nb\n{second}\nc"
    code, kept, dropped = extract_code(text)
    assert code == "print(1)\n"
    assert kept == f"a\n{first}"
    assert dropped == len(f"\nb\n{second}\nc")


def test_closing_fence_may_sit_anywhere():
    code, kept, dropped = extract_code(f"{FENCE}python\nprint(1){FENCE}tail")
    assert (code, dropped) == ("print(1)", 4)
    assert kept.endswith(FENCE)


def test_a_prose_fence_before_the_code_is_skipped():
    text = f"{FENCE}\nsome table\n{FENCE}\n" + block("print(3)")
    code, kept, dropped = extract_code(text)
    assert code == "print(3)\n" and kept == text and dropped == 0


def test_empty_block_is_code():
    assert extract_code(f"{FENCE}python\n{FENCE}") == ("", f"{FENCE}python\n{FENCE}", 0)


# ---------------------------------------------------------------- answer extraction


def test_last_marker_wins_and_is_stripped():
    assert extract_answer("first <<<1>>> then <<<  2 \n>>>") == "2"


def test_marker_may_span_lines():
    assert extract_answer("<<<line one\nline two>>>") == "line one\nline two"


def test_empty_marker_is_an_empty_answer():
    assert extract_answer("<<<>>>") == ""
    assert extract_answer("<<<   >>>") == ""


def test_no_marker_gives_none():
    assert extract_answer("") is None
    assert extract_answer("the answer is 42") is None
    assert extract_answer("<<<unterminated") is None
    assert extract_answer("only closing >>>") is None


def test_markers_inside_a_closed_code_block_do_not_count():
    text = "<<<outside>>>\n" + block('print("<<<inside>>>")') + "\nno more"
    assert extract_answer(text) == "outside"


def test_markers_inside_an_unclosed_block_do_not_count():
    text = "<<<before>>>\n" + f"{FENCE}python\nprint('<<<tail>>>')\n"
    assert extract_answer(text) == "before"


def test_marker_after_a_block_counts():
    assert extract_answer(block("print(1)") + "\nso <<<after>>>") == "after"


def test_a_marker_cannot_span_a_code_block():
    assert extract_answer("<<<a " + block("x = 1") + " b>>>") is None


def test_markers_in_prose_fences_count():
    assert extract_answer(f"{FENCE}\n<<<fenced>>>\n{FENCE}") == "fenced"


def test_markers_are_non_greedy():
    assert extract_answer("<<<a>>> and >>> <<<b>>>") == "b"


def test_answer_search_is_linear_on_hostile_text():
    text = "<<<" * 400_000 + "x" + f"{FENCE}python\n" * 50_000
    start = time.monotonic()
    assert extract_answer(text) is None
    assert extract_code(text)[0] == ""  # the second opening fence closes the first block
    assert time.monotonic() - start < 5


# ---------------------------------------------------------------- observations


def result(stdout="", stderr="", exit_code=0, **kw) -> ExecResult:
    return ExecResult(stdout=stdout, stderr=stderr, exit_code=exit_code, **kw)


def test_observation_frame():
    assert format_observation(result("42\n")) == "\nCode Execution Results:\n42\n"


def test_stdout_then_stderr():
    obs = format_observation(result("partial\n", "Traceback ...\nValueError: bad\n", 1))
    assert obs == "\nCode Execution Results:\npartial\nTraceback ...\nValueError: bad\n"


def test_stdout_without_newline_is_separated_from_stderr():
    assert format_observation(result("a", "b", 1)) == "\nCode Execution Results:\na\nb\n"


def test_timeout_line():
    obs = format_observation(result("tick\n", exit_code=-9, timed_out=True, duration=3.02), timeout=3.0)
    assert obs == "\nCode Execution Results:\ntick\nTimeoutError: the program ran longer than 3 s and was stopped.\n"


def test_timeout_without_limit_names_the_duration():
    obs = format_observation(result(exit_code=-9, timed_out=True, duration=2.5))
    assert "longer than 2.5 s" in obs


def test_silent_nonzero_exit_is_reported():
    assert format_observation(result(exit_code=3)) == "\nCode Execution Results:\n(exit code 3)\n"
    assert format_observation(result("out\n", exit_code=-11)).endswith("out\n(exit code -11)\n")


def test_exit_code_not_repeated_when_stderr_explains():
    assert "exit code" not in format_observation(result(stderr="boom", exit_code=1))


def test_no_output():
    assert format_observation(result()) == "\nCode Execution Results:\n(no output)\n"
    assert format_observation(result("\n\n")) == "\nCode Execution Results:\n(no output)\n"


def test_whitespace_inside_output_is_kept():
    assert format_observation(result("  a\n\n b\n")) == "\nCode Execution Results:\n  a\n\n b\n"


@pytest.mark.parametrize("max_chars", [256, 1000, 4096])
def test_long_output_is_cut_in_the_middle_within_the_limit(max_chars):
    out = "H" * 50_000 + "T" * 50_000
    obs = format_observation(result(out, "Error at the end", 1), max_chars)
    assert len(obs) <= max_chars
    assert obs.startswith("\nCode Execution Results:\nHHH")
    assert obs.endswith("TTT\nError at the end\n")
    omitted = int(obs.split("...[")[1].split(" characters omitted")[0])
    kept = len(obs) - len("\nCode Execution Results:\n") - 1 - len(f"\n...[{omitted} characters omitted]...\n")
    assert omitted + kept == len(out) + len("\nError at the end")


def test_output_at_the_limit_is_not_cut():
    frame = len("\nCode Execution Results:\n\n")
    out = "x" * (4096 - frame)
    assert format_observation(result(out)) == f"\nCode Execution Results:\n{out}\n"
    assert "omitted" in format_observation(result(out + "y"))


def test_status_lines_survive_the_cut():
    obs = format_observation(result("x" * 10_000, exit_code=-9, timed_out=True, truncated=True), 300, timeout=10)
    assert len(obs) <= 300
    assert "characters omitted" in obs
    assert "TimeoutError: the program ran longer than 10 s" in obs
    assert obs.endswith("(the output was too long; the sandbox kept only its beginning and end)\n")


def test_sandbox_truncation_is_mentioned_even_when_short():
    obs = format_observation(result("head...tail\n", truncated=True))
    assert obs == (
        "\nCode Execution Results:\nhead...tail\n"
        "(the output was too long; the sandbox kept only its beginning and end)\n"
    )


def test_too_small_limit_is_rejected():
    with pytest.raises(ValueError, match="at least"):
        format_observation(result("x"), 100)


# ---------------------------------------------------------------- sanitising


def test_sanitize_keeps_plain_text():
    text = "héllo ∑ 漢字 \t\n"
    assert sanitize(text) == text


def test_sanitize_decodes_bytes_with_replacement():
    assert sanitize("<<<é>>>".encode()) == "<<<é>>>"
    assert sanitize(b"\xff\xfe<<<3>>>") == "\ufffd\ufffd<<<3>>>"
    assert sanitize(bytearray(b"ok\x80")) == "ok\ufffd"


def test_sanitize_keeps_nul_and_control_characters():
    assert sanitize("a\x00b\x07\x1b[0m") == "a\x00b\x07\x1b[0m"
    assert sanitize(b"a\x00b") == "a\x00b"


def test_sanitize_replaces_lone_surrogates_and_joins_pairs():
    assert sanitize("x\ud800y\udfffz") == "x\ufffdy\ufffdz"
    assert sanitize("\ud83d\ude00") == "\U0001f600"
    sanitize("\ud800").encode("utf-8")  # the result is always encodable


def test_sanitize_returns_a_plain_str():
    class Sub(str):
        pass

    assert type(sanitize(Sub("x"))) is str


@pytest.mark.parametrize("action", [None, 42, ["text"], {"text": "x"}])
def test_sanitize_rejects_other_types(action):
    with pytest.raises(TypeError, match="str or bytes"):
        sanitize(action)


@pytest.mark.parametrize(
    "text, answer",
    [("<<<] ) >>>>", "] ) >"), ("<<<] ) > >>>", "] ) >"), ("<<<a>>>>>> tail", "a>>>"), ("<<<x>>> <<<y>>>>", "y>")],
)
def test_answers_ending_in_angle_brackets_keep_them(text, answer):
    assert extract_answer(text) == answer
