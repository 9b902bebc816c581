"""Real-container tests of the docker backend: output, timeouts, isolation, containment, recovery."""

from __future__ import annotations

import pytest
from sandbox_probe import assert_probe_clean

pytestmark = pytest.mark.docker


def test_printed_output_comes_back(docker_sandbox):
    result = docker_sandbox.run("import sys\nprint('hello', 6 * 7)\nprint('oops', file=sys.stderr)", timeout=10)
    assert result.stdout == "hello 42\n"
    assert result.stderr == "oops\n"
    assert result.exit_code == 0 and not result.timed_out and not result.truncated


def test_exceptions_give_a_traceback_and_exit_code(docker_sandbox):
    result = docker_sandbox.run("x = 1\nraise ValueError('bad value')", timeout=10)
    assert result.exit_code == 1
    assert 'File "main.py", line 2' in result.stderr
    assert "ValueError: bad value" in result.stderr
    assert "executor" not in result.stderr


def test_exit_status_is_reported(docker_sandbox):
    assert docker_sandbox.run("import sys; sys.exit(3)", timeout=10).exit_code == 3


def test_infinite_loop_times_out_and_next_run_works(docker_sandbox):
    result = docker_sandbox.run("while True: pass", timeout=1)
    assert result.timed_out and result.exit_code == -9
    assert 0.9 < result.duration < 5
    assert_probe_clean(docker_sandbox)


def test_network_is_unreachable(docker_sandbox):
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
        "    print('connected')\n"
        "except OSError as e:\n"
        "    print('blocked', e.errno)\n"
    )
    result = docker_sandbox.run(code, timeout=10)
    assert result.stdout.startswith("blocked"), result


@pytest.mark.parametrize("path", ["/usr/lib/evil.txt", "/etc/passwd", "/root/x", "/evil"])
def test_writing_outside_scratch_fails(docker_sandbox, path):
    code = f"open({path!r}, 'w').write('x')"
    result = docker_sandbox.run(code, timeout=10)
    assert result.exit_code == 1
    assert "Error" in result.stderr  # PermissionError or OSError (read-only file system)
    assert_probe_clean(docker_sandbox)


def test_fork_bomb_is_contained_and_next_run_works(docker_sandbox):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = docker_sandbox.run(code, timeout=2)
    assert result.timed_out
    assert_probe_clean(docker_sandbox)
    code = (
        "import os\n"
        "def uid_of(pid):\n"
        "    try:\n"
        "        return os.stat('/proc/' + pid).st_uid\n"
        "    except FileNotFoundError:\n"
        "        return None\n"
        "print(sum(1 for p in os.listdir('/proc') if p.isdigit() and uid_of(p) == os.getuid()))\n"
    )
    count = docker_sandbox.run(code, timeout=10)
    assert count.stdout.strip() == "1", count  # only the probe itself runs under this slot's uid


def test_user_code_is_not_root_and_environment_is_clean(docker_sandbox):
    result = docker_sandbox.run("import os, json; print(os.getuid()); print(json.dumps(dict(os.environ)))", timeout=10)
    uid, env = result.stdout.splitlines()
    assert int(uid) >= 100_000
    assert "HOSTNAME" not in env and "r1ci" not in env.lower()
