"""OpenEnv (openenv-core 0.3.x, in its own venv): `r1ci serve openenv` on 127.0.0.1 holds 16 concurrent
WebSocket sessions of different tasks, and every episode played through it equals the same episode played
in-process (prompt, observations, rewards, done flags, info), a 17th session is refused, and a reset that
tries to set an operator setting is refused without breaking its session."""

from __future__ import annotations

import socket

import pytest
from engine_venvs import run_script

TASKS = [
    "Letters",
    "EightQueens",
    "NumberMultiply",
    "Cryptanalysis",
    "StringSplitting",
    "CombinatorialCalculation",
    "Game2048",
    "PermutationsCombinations",
    "bbh.web_of_lies",
    "bbh.sports_understanding",
    "Game24",
    "BlocksWorld",
    "rg.count_primes",
    "rg.ransom_note",
    "rg.simple_equations",
    "rg.tower_of_hanoi",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.docker
@pytest.mark.slow
def test_sixteen_concurrent_sessions_equal_in_process_episodes(docker_sandbox):
    result = run_script("openenv", "openenv_sessions.py", str(_free_port()), *TASKS)
    assert len(set(TASKS)) == 16 and result["tasks"] == TASKS
    assert result["max_open"] == 16, "all 16 sessions were open at the same time"
    assert len(result["urls"]) == 2, "client_factory spread the sessions round-robin over both addresses"
    assert "CAPACITY_REACHED" in result["refused"], result["refused"]
    bad = result["bad_request"]
    assert "sandbox cannot be set per episode" in bad["refused"]
    assert bad["prompt_after"] == bad["prompt_expected"]
    assert result["sync"] == {"prompt": bad["prompt_expected"], "observation": "\nCode Execution Results:\n42\n"}
    for task, remote, local in zip(TASKS, result["remote"], result["local"]):
        *remote_steps, state = remote
        assert remote_steps == local, task
        prompt, code, failing, final = local
        assert prompt[3]["task"] == task and "Task:" in prompt[0]
        assert code[0].startswith("\nCode Execution Results:\n") and code[2] is False
        assert "NameError" in failing[0] and failing[3]["dropped_chars"] > 0
        assert final[:3] == ["", 1.0, True] and final[3]["correct"] is True, task
        assert state == {"step_count": 3, "task": task, "finished": True}
