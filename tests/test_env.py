"""CodeInterpreterEnv: the step rules, every edge case of the protocol, and gymnasium conformance.

Episodes run real code through the `local` sandbox. A small addition task defined here (never
registered) keeps most tests independent of the real task modules; the gymnasium-registration tests
use NumberMultiply.
"""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import dataclass

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import r1ci_env
from r1ci_env import CodeInterpreterEnv, ExecResult, SandboxError
from r1ci_env.protocol import render_prompt
from r1ci_env.sandbox import Sandbox, make_sandbox
from r1ci_env.spaces import TextSpace
from r1ci_env.tasks import Instance, Task, TaskConfig, make_task

FENCE = "`" * 3
LABELS = {"task", "instance_id", "category", "source", "split", "difficulty", "code_calls"}
STEP_LABELS = LABELS | {"answer", "correct", "dropped_chars"}


def block(code: str) -> str:
    return f"{FENCE}python\n{code}\n{FENCE}"


@dataclass
class AddConfig(TaskConfig):
    high: int = 99


class AddTask(Task):
    """What is a + b? A test-only task, passed to the env as an object."""

    name = "TestAdd"
    source = "custom"
    category = "execution"
    checker = "EM"
    config_class = AddConfig

    def generate(self, seed: int) -> Instance:
        rng = random.Random(seed)
        a, b = rng.randint(0, self.config.high), rng.randint(0, self.config.high)
        return Instance(question=f"What is {a} + {b}?", gold=a + b, instance_id=f"add-{seed}", metadata={})

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if answer == str(instance.gold) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return f"print({instance.gold})"


class RaisingAddTask(AddTask):
    """A checker that crashes on anything but digits."""

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if int(answer) == instance.gold else 0.0


class FailingSandbox(Sandbox):
    """A fake infrastructure failure: raises SandboxError `failures` times, then runs code locally."""

    backend = "failing"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = make_sandbox("local")

    def run(self, code: str, timeout: float = 10.0) -> ExecResult:
        if self.failures > 0:
            self.failures -= 1
            raise SandboxError("container died")
        return self.inner.run(code, timeout)


def make_env(task: Task | None = None, **kwargs) -> CodeInterpreterEnv:
    return CodeInterpreterEnv(task or AddTask(), sandbox="local", **kwargs)


def started(seed: int = 0, **kwargs) -> CodeInterpreterEnv:
    env = make_env(**kwargs)
    env.reset(seed=seed)
    return env


def gold(env: CodeInterpreterEnv) -> str:
    return str(env.instance.gold)


# ---------------------------------------------------------------- reset


def test_reset_returns_the_prompt_and_labels():
    env = make_env()
    prompt, info = env.reset(seed=3)
    assert prompt == render_prompt(env.instance.question, "code_interpreter", 5)
    assert set(info) == LABELS
    assert info["task"] == "TestAdd" and info["instance_id"] == "add-3"
    assert (info["category"], info["source"], info["split"]) == ("execution", "custom", "train")
    assert info["difficulty"] == {"high": 99} and info["code_calls"] == 0


def test_same_seed_same_question():
    first, second = make_env(), make_env()
    assert first.reset(seed=11)[0] == second.reset(seed=11)[0]
    assert first.reset(seed=11)[0] != first.reset(seed=12)[0]


def test_reset_after_a_seeded_reset_is_deterministic():
    first, second = make_env(), make_env()
    first.reset(seed=5)
    second.reset(seed=5)
    assert [first.reset()[0] for _ in range(3)] == [second.reset()[0] for _ in range(3)]


def test_prompt_styles_and_templates():
    env = make_env(prompt="text_only")
    assert env.reset(seed=0)[0] == render_prompt(env.instance.question, "text_only", 5)
    env = make_env(prompt="Q={question} calls={max_code_calls}", max_code_calls=2)
    assert env.reset(seed=0)[0] == f"Q={env.instance.question} calls=2"
    with pytest.raises(ValueError, match="question"):
        make_env(prompt="no placeholder here")


# ---------------------------------------------------------------- the step rules and edge cases


def test_code_runs_and_the_episode_goes_on():
    env = started()
    obs, reward, terminated, truncated, info = env.step("Compute it.\n" + block("print(40 + 2)"))
    assert obs == "\nCode Execution Results:\n42\n"
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert set(info) == STEP_LABELS | {"exec_result"}
    assert info["exec_result"]["stdout"] == "42\n" and info["exec_result"]["exit_code"] == 0
    assert (info["answer"], info["correct"], info["code_calls"], info["dropped_chars"]) == (None, None, 1, 0)


def test_correct_answer_after_code():
    env = started()
    env.step(block(f"print({gold(env)})"))
    obs, reward, terminated, truncated, info = env.step(f"So the sum is <<<{gold(env)}>>>.")
    assert (obs, reward, terminated, truncated) == ("", 1.0, True, False)
    assert info["answer"] == gold(env) and info["correct"] is True
    assert "exec_result" not in info


def test_wrong_answer_scores_zero():
    env = started()
    _, reward, terminated, _, info = env.step("<<<-1>>>")
    assert (reward, terminated, info["answer"], info["correct"]) == (0.0, True, "-1", False)


def test_turn_with_neither_code_nor_answer_ends_unanswered():
    env = started()
    obs, reward, terminated, truncated, info = env.step("I am not sure yet.")
    assert (obs, reward, terminated, truncated) == ("", 0.0, True, False)
    assert info["answer"] is None and info["correct"] is False


def test_turn_with_answer_then_code_runs_the_code_and_keeps_the_answer():
    env = started()
    obs, _, terminated, _, _ = env.step(f"Guess <<<{gold(env)}>>>, checking:\n" + block("print(1)"))
    assert not terminated and "Code Execution Results:" in obs
    _, reward, terminated, _, info = env.step("The check agrees.")
    assert terminated and reward == 1.0 and info["answer"] == gold(env)


def test_answer_after_code_in_the_same_turn_is_dropped():
    env = started()
    tail = f"\nFinal: <<<{gold(env)}>>>"
    _, _, terminated, _, info = env.step(block("print(5)") + tail)
    assert not terminated and info["dropped_chars"] == len(tail)
    assert tail not in env.transcript
    _, reward, _, _, info = env.step("done")
    assert reward == 0.0 and info["answer"] is None


def test_several_blocks_in_one_turn_run_only_the_first():
    env = started()
    second = "\n" + block("print('second')") + "\n"
    obs, _, _, _, info = env.step(block("print('first')") + second)
    assert obs == "\nCode Execution Results:\nfirst\n"
    assert info["code_calls"] == 1 and info["dropped_chars"] == len(second)
    assert "second" not in env.transcript


def test_unclosed_block_ends_the_episode_and_its_markers_do_not_count():
    env = started()
    _, reward, terminated, truncated, info = env.step(f"<<<{gold(env)}>>> then\n{FENCE}python\nprint('<<<-5>>>')\n")
    assert (terminated, truncated, reward) == (True, False, 1.0)
    assert info["answer"] == gold(env) and "exec_result" not in info


def test_code_after_the_cap_is_not_run_and_truncates():
    env = started(max_code_calls=1)
    env.step(f"<<<{gold(env)}>>>\n" + block("print('ran')"))
    before = env.transcript
    obs, reward, terminated, truncated, info = env.step(block("print('never')") + "\ntrailing")
    assert (obs, terminated, truncated) == ("", False, True)
    assert info["code_calls"] == 1 and "exec_result" not in info
    assert reward == 1.0 and info["answer"] == gold(env)
    assert env.transcript == before + block("print('never')")
    assert info["dropped_chars"] == len("\ntrailing")


def test_answer_in_the_truncating_turn_counts():
    env = started(max_code_calls=0)
    _, reward, terminated, truncated, info = env.step(f"<<<{gold(env)}>>>\n" + block("print(1)"))
    assert (reward, terminated, truncated, info["code_calls"]) == (1.0, False, True, 0)


def test_cap_without_answer_scores_zero():
    env = started(max_code_calls=0)
    _, reward, _, truncated, info = env.step(block("print(1)"))
    assert truncated and reward == 0.0 and info["answer"] is None and info["correct"] is False


def test_answer_is_never_taken_from_program_output():
    env = started()
    env.step(block(f"print('<<<{gold(env)}>>>')"))
    _, reward, _, _, info = env.step("see above")
    assert reward == 0.0 and info["answer"] is None


def test_the_last_answer_of_the_episode_counts():
    env = started()
    env.step(f"<<<{gold(env)}>>>\n" + block("print(0)"))
    _, reward, _, _, info = env.step("Actually <<<-3>>>")
    assert reward == 0.0 and info["answer"] == "-3"


def test_empty_text_ends_the_episode():
    env = started()
    env.step(f"<<<{gold(env)}>>>" + block("print(0)"))
    obs, reward, terminated, truncated, info = env.step("")
    assert (obs, reward, terminated, truncated, info["dropped_chars"]) == ("", 1.0, True, False, 0)


def test_empty_marker_is_scored_as_an_answer():
    env = started()
    _, reward, _, _, info = env.step("<<<>>>")
    assert info["answer"] == "" and reward == 0.0


def test_huge_text():
    env = started()
    text = "thinking " * 300_000 + f"<<<{gold(env)}>>>"
    _, reward, terminated, _, _ = env.step(text)
    assert terminated and reward == 1.0
    assert env.transcript.endswith(text)


def test_huge_program_output_is_cut_to_the_limit():
    env = started(max_observation_chars=1000)
    obs, *_ = env.step(block("print('x' * 200_000)"))
    assert len(obs) <= 1000 and "characters omitted" in obs


def test_binary_and_non_utf8_bytes():
    env = started()
    obs, reward, terminated, _, _ = env.step(b"\xff\xfe\x00\x01 noise")
    assert (obs, reward, terminated) == ("", 0.0, True)
    env = started()
    _, reward, _, _, info = env.step(b"\x80\x00" + f"<<<{gold(env)}>>>".encode())
    assert reward == 1.0 and info["answer"] == gold(env)
    assert "\x00" in env.transcript and "\ufffd" in env.transcript


def test_lone_surrogates_and_nul_in_code():
    env = started()
    obs, _, terminated, _, _ = env.step(block("print('a\\x00b', '\ud800')"))
    assert not terminated and obs.startswith("\nCode Execution Results:\na\x00b")


def test_non_text_action_is_a_type_error():
    env = started()
    with pytest.raises(TypeError, match="str or bytes"):
        env.step(42)


def test_program_errors_and_timeouts_are_observations():
    env = started(timeout=1.0)
    obs, *_ = env.step(block("raise ValueError('bad input')"))
    assert "ValueError: bad input" in obs
    obs, _, terminated, _, info = env.step(block("while True:\n    pass"))
    assert not terminated and info["exec_result"]["timed_out"]
    assert obs.endswith("TimeoutError: the program ran longer than 1 s and was stopped.\n")


def test_step_after_the_end_raises():
    env = started()
    env.step("<<<1>>>")
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        env.step("more text")
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        env.step(block("print(1)"))
    env.reset(seed=1)
    env.step("fine again")


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match=r"reset\(\)"):
        make_env().step("hello")


def test_raising_checker_gives_zero_and_records_the_error():
    env = make_env(RaisingAddTask())
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("<<<not a number>>>")
    assert terminated and reward == 0.0 and info["correct"] is False
    assert info["score_error"].startswith("ValueError: invalid literal for int()")
    env.reset(seed=0)
    assert "score_error" not in env.step(f"<<<{gold(env)}>>>")[4]


def test_turns_hold_each_kept_text_and_its_observation():
    env = started(seed=4)
    prompt = env.transcript
    assert env.turns == []
    obs, *_ = env.step("First.\n" + block("print(1 + 1)") + "\ntext after the block is dropped")
    env.step(f"Done: <<<{gold(env)}>>>")
    assert env.turns == [("First.\n" + block("print(1 + 1)"), obs), (f"Done: <<<{gold(env)}>>>", None)]
    assert env.turns[0].model == "First.\n" + block("print(1 + 1)") and env.turns[1].observation is None
    assert prompt + "".join(t.model + (t.observation or "") for t in env.turns) == env.transcript
    env.turns.append(("not", "kept"))  # a copy: the env's own list is not touched
    assert len(env.turns) == 2
    env.reset(seed=5)
    assert env.turns == []


def test_a_failed_code_run_adds_no_turn():
    env = CodeInterpreterEnv(AddTask(), sandbox=FailingSandbox(failures=1))
    env.reset(seed=0)
    with pytest.raises(SandboxError):
        env.step(block("print(2)"))
    assert env.turns == []
    env.step(block("print(2)"))
    assert [t.observation for t in env.turns] == ["\nCode Execution Results:\n2\n"]


def test_sandbox_error_propagates_and_the_step_can_be_retried():
    env = CodeInterpreterEnv(AddTask(), sandbox=FailingSandbox(failures=1))
    env.reset(seed=0)
    action = "Check:\n" + block("print(2 + 2)")
    before = env.transcript
    with pytest.raises(SandboxError, match="container died"):
        env.step(action)
    assert env.transcript == before and env.code_calls == 0
    obs, _, terminated, _, info = env.step(action)
    assert obs == "\nCode Execution Results:\n4\n" and not terminated and info["code_calls"] == 1
    assert env.transcript == before + "Check:\n" + block("print(2 + 2)") + obs


def test_a_sandbox_object_is_used_as_is_and_not_closed():
    class Recording(FailingSandbox):
        closed = False

        def close(self) -> None:
            self.closed = True

    sandbox = Recording(failures=0)
    env = CodeInterpreterEnv(AddTask(), sandbox=sandbox)
    env.reset(seed=0)
    env.step(block("print(1)"))
    env.close()
    assert not sandbox.closed


# ---------------------------------------------------------------- construction


def test_bad_settings_are_rejected_at_construction():
    with pytest.raises(ValueError, match="sandbox"):
        CodeInterpreterEnv(AddTask(), sandbox="podman")
    with pytest.raises(ValueError, match="max_code_calls"):
        make_env(max_code_calls=-1)
    with pytest.raises(ValueError, match="timeout"):
        make_env(timeout=0)
    with pytest.raises(ValueError, match="max_observation_chars"):
        make_env(max_observation_chars=10)
    with pytest.raises(ValueError, match="render_mode"):
        make_env(render_mode="human")


def test_knobs_with_a_task_object_are_rejected():
    with pytest.raises(TypeError, match="task name"):
        CodeInterpreterEnv(AddTask(), sandbox="local", high=5)


def test_the_sandbox_is_obtained_only_when_code_runs():
    env = CodeInterpreterEnv(AddTask())
    env.reset(seed=0)
    _, reward, *_ = env.step(f"<<<{gold(env)}>>>")  # no code: no sandbox needed
    assert reward == 1.0


# ---------------------------------------------------------------- rendering and spaces


def test_render_ansi_returns_the_transcript():
    env = started(render_mode="ansi")
    prompt = env.transcript
    obs, *_ = env.step("Let me check.\n" + block("print(3)"))
    env.step("<<<3>>>")
    expected = prompt + "Let me check.\n" + block("print(3)") + obs + "<<<3>>>"
    assert env.render() == env.transcript == expected
    assert started().render() is None


def test_text_space():
    space = TextSpace(max_length=10)
    assert space.contains("") and "ü漢\x00" in space and "x" * 10 in space
    assert "x" * 11 not in space and b"bytes" not in space and None not in space
    assert not space.is_np_flattenable
    assert space == TextSpace(max_length=10) and space != TextSpace(max_length=11)
    assert repr(space) == "TextSpace(max_length=10)"
    space.seed(4)
    samples = [space.sample() for _ in range(20)]
    space.seed(4)
    assert samples == [space.sample() for _ in range(20)]
    assert all(s in space for s in samples) and len(set(samples)) > 1
    with pytest.raises(ValueError):
        TextSpace(max_length=-1)


def test_env_spaces():
    env = make_env()
    assert env.observation_space == env.action_space == TextSpace(10**7)


# ---------------------------------------------------------------- gymnasium integration


def test_check_env_passes_on_a_direct_env():
    check_env(make_env(render_mode="ansi"), skip_render_check=True)


def test_check_env_passes_on_a_registered_env():
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local", render_mode="ansi")
    check_env(env.unwrapped)


def test_every_task_is_registered_with_an_import_string():
    for name in r1ci_env.tasks.task_names():
        spec = gym.spec(f"r1ci/{name}-v0")
        assert spec.entry_point == "r1ci_env.env:CodeInterpreterEnv"
        assert spec.kwargs == {"task": name} and spec.max_episode_steps is None


def test_a_task_registered_later_gets_a_gym_id_at_once():
    # In a fresh process, so that the test task stays out of this process's registry.
    script = (
        "import gymnasium as gym, r1ci_env\n"
        "from r1ci_env.tasks.number_multiply import NumberMultiply\n"
        "class Mine(NumberMultiply):\n"
        "    name = 'MyTask'\n"
        "r1ci_env.register_task(Mine)\n"
        "env = gym.make('r1ci/MyTask-v0', sandbox='local')\n"
        "print(env.reset(seed=0)[1]['task'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "MyTask"


def test_make_passes_knobs_to_the_task():
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local", min_count=2, max_count=2, max_code_calls=2)
    _, info = env.reset(seed=1)
    assert info["difficulty"]["max_count"] == 2 and len(env.unwrapped.instance.metadata["numbers"]) == 2
    assert (info["task"], info["split"]) == ("NumberMultiply", "test")
    assert env.unwrapped.max_code_calls == 2


def test_make_rejects_an_unknown_knob():
    with pytest.raises(TypeError, match="no generator setting 'bogus'"):
        gym.make("r1ci/NumberMultiply-v0", sandbox="local", bogus=1)


def test_oracle_episode_through_make():
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local")
    env.reset(seed=7)
    task, instance = env.unwrapped.task, env.unwrapped.instance
    obs, *_ = env.step(block(task.reference_solution(instance)))
    printed = obs.split("Code Execution Results:\n", 1)[1].strip()
    _, reward, terminated, _, info = env.step(f"<<<{printed}>>>")
    assert terminated and reward == 1.0 and info["correct"] is True


def _vector_episode(envs, num_envs: int, seed: int) -> None:
    task = make_task("NumberMultiply")
    instances = [task.generate(seed + i) for i in range(num_envs)]
    golds = [instance.gold for instance in instances]
    observations, infos = envs.reset(seed=seed)
    assert list(observations) == [render_prompt(instance.question) for instance in instances]
    assert list(infos["instance_id"]) == [instance.instance_id for instance in instances]
    observations, rewards, terminated, truncated, infos = envs.step(
        tuple(block(f"print({i})") for i in range(num_envs))
    )
    assert list(observations) == [f"\nCode Execution Results:\n{i}\n" for i in range(num_envs)]
    assert not terminated.any() and list(infos["code_calls"]) == [1] * num_envs
    answers = tuple(f"<<<{g}>>>" if i % 2 == 0 else "<<<0>>>" for i, g in enumerate(golds))
    _, rewards, terminated, truncated, infos = envs.step(answers)
    assert list(rewards) == [1.0 if i % 2 == 0 else 0.0 for i in range(num_envs)]
    assert terminated.all() and not truncated.any()


def test_sync_vector_env():
    envs = gym.make_vec("r1ci/NumberMultiply-v0", num_envs=2, vectorization_mode="sync", sandbox="local")
    try:
        _vector_episode(envs, 2, seed=100)
    finally:
        envs.close()


@pytest.mark.parametrize("num_envs", [2, 4])
def test_async_vector_env(num_envs):
    envs = gym.make_vec(
        "r1ci/NumberMultiply-v0",
        num_envs=num_envs,
        vectorization_mode="async",
        vector_kwargs={"shared_memory": False},
        sandbox="local",
    )
    try:
        _vector_episode(envs, num_envs, seed=200)
    finally:
        envs.close()


def test_vector_env_with_code_and_final_steps_side_by_side():
    envs = gym.make_vec("r1ci/NumberMultiply-v0", num_envs=2, vectorization_mode="sync", sandbox="local")
    try:
        envs.reset(seed=0)
        observations, rewards, terminated, _, infos = envs.step((block("print('ran')"), "no idea"))
        assert observations[0] == "\nCode Execution Results:\nran\n" and observations[1] == ""
        assert list(terminated) == [False, True] and list(infos["_exec_result"]) == [True, False]
        assert infos["exec_result"]["stdout"][0] == "ran\n"
        observations, *_ = envs.step(("<<<1>>>", "ignored: this env resets"))
        assert observations[0] == "" and "Solve the task below" in observations[1]
    finally:
        envs.close()
