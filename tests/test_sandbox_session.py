"""Session mode: one interpreter per episode, under the same limits as stateless runs."""

from __future__ import annotations

import gymnasium as gym
import pytest

import r1ci_env  # noqa: F401 - registers the environments
from r1ci_env.sandbox.base import RESET_NOTE

pytestmark = pytest.mark.docker


def test_names_persist_between_calls(docker_sandbox):
    with docker_sandbox.session() as session:
        assert session.run("x = 41\nimport os\npid = os.getpid()").exit_code == 0
        result = session.run("x += 1\nprint(x, pid == os.getpid())")
        assert result.stdout == "42 True\n"


def test_an_error_keeps_the_session_and_reports_the_cell(docker_sandbox):
    with docker_sandbox.session() as session:
        session.run("y = 'kept'")
        failed = session.run("y = 'changed'\n1/0")
        assert failed.exit_code == 1 and 'File "cell2.py", line 2' in failed.stderr
        assert session.run("print(y)").stdout == "changed\n"
        assert session.run("import sys; sys.exit(4)").exit_code == 4
        assert session.run("print(y)").stdout == "changed\n"  # SystemExit ends the cell, not the session


@pytest.mark.parametrize("killer", ["while True: pass", "import os; os._exit(3)"])
def test_a_timeout_or_exit_restarts_the_interpreter_and_says_so(docker_sandbox, killer):
    with docker_sandbox.session() as session:
        session.run("z = 1\nopen('note.txt', 'w').write('x')")
        result = session.run(killer, timeout=1)
        assert result.stderr.endswith(RESET_NOTE)
        after = session.run("import os\nprint('z' in dir(), os.listdir('.'))")
        assert after.stdout == "False []\n"  # fresh namespace and a clean scratch directory


def test_sessions_are_isolated_from_each_other(docker_sandbox):
    with docker_sandbox.session() as first, docker_sandbox.session() as second:
        first.run("secret = 'first'\nopen('mine.txt', 'w').write('1')")
        assert second.run("import os\nprint('secret' in dir(), os.listdir('.'))").stdout == "False []\n"
        uids = {s.run("import os; print(os.getuid())").stdout for s in (first, second)}
        assert len(uids) == 2


def test_closing_sessions_frees_their_slots(docker_sandbox):
    sessions = [docker_sandbox.session() for _ in range(4)]  # the fixture pool has 4 slots
    for session in sessions:
        session.close()
    assert docker_sandbox.run("print('free')").stdout == "free\n"
    with pytest.raises(Exception, match="closed"):
        sessions[0].run("print(1)")


def test_stateful_env_keeps_names_across_code_calls(docker_sandbox):
    env = gym.make("r1ci/NumberMultiply-v0", sandbox=docker_sandbox, stateful=True)
    prompt, _ = env.reset(seed=3)
    assert "names defined by an earlier script are kept" in prompt
    numbers = env.unwrapped.instance.metadata["numbers"]
    obs, *_ = env.step(f"```python\nimport math\nvalues = {numbers!r}\n```")
    assert "(no output)" in obs
    obs, *_ = env.step("```python\nprint(math.prod(values))\n```")
    product = obs.split("Code Execution Results:\n")[1].strip()
    _, reward, terminated, _, info = env.step(f"<<<{product}>>>")
    assert terminated and reward == 1.0 and info["correct"]
    env.reset(seed=4)  # a new episode gets a new interpreter
    obs, *_ = env.step("```python\nprint('values' in dir())\n```")
    assert "False" in obs
    env.close()
