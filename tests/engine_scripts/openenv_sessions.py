"""Run inside the openenv venv: start `r1ci serve openenv` on 127.0.0.1, play one scripted episode per task
in concurrent WebSocket sessions (all open at once), play the same episodes in-process, print JSON.

Scripted turns per episode: the task's reference solution as a code block, a program that fails, then the
answer the reference printed. argv: port, then task names (one session each).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.integrations.openenv import R1CIAction, R1CIEnvClient, client_factory

FAILING = "Checking a helper first.\n```python\nprint(undefined_name)\n```\nmore text after the fence"
VOLATILE = ("duration",)  # wall-clock fields differ between any two runs


def turns_for(task: str, seed: int) -> list[str]:
    """The scripted turns; the answer turn is filled in from the first observation."""
    env = EnvSettings().make(task)
    env.reset(seed=seed)
    code = env.task.reference_solution(env.instance)
    return [f"I will compute it.\n```python\n{code}\n```", FAILING]


def answer_turn(first_info: dict) -> str:
    return f"So the answer is <<<{first_info['exec_result']['stdout'].strip()}>>>"


def strip(info: dict) -> dict:
    info = json.loads(json.dumps(info, default=str))
    for key in VOLATILE:
        (info.get("exec_result") or {}).pop(key, None)
    return info


def play_local(task: str, seed: int) -> list:
    env = EnvSettings().make(task)
    prompt, info = env.reset(seed=seed)
    steps = [[prompt, None, False, strip(info)]]
    turns = turns_for(task, seed)
    for index in range(3):
        text = turns[index] if index < 2 else answer_turn(steps[1][3])
        observation, reward, terminated, truncated, info = env.step(text)
        steps.append([observation, float(reward), bool(terminated or truncated), strip(info)])
    return steps


async def play_remote(client: R1CIEnvClient, task: str, seed: int, opened: asyncio.Barrier, stats: dict) -> list:
    async with client:
        result = await client.reset(task=task, seed=seed)
        steps = [[result.observation.text, result.reward, result.done, strip(result.observation.info)]]
        stats["open"] += 1
        stats["max_open"] = max(stats["max_open"], stats["open"])
        await opened.wait()  # every session is connected before any steps
        turns = turns_for(task, seed)
        for index in range(3):
            text = turns[index] if index < 2 else answer_turn(steps[1][3])
            result = await client.step(R1CIAction(text=text))
            steps.append([result.observation.text, result.reward, result.done, strip(result.observation.info)])
        state = await client.state()
        stats["open"] -= 1
        steps.append({"step_count": state.step_count, "task": state.task, "finished": state.finished})
    return steps


async def over_capacity(url: str) -> str:
    """What a session beyond --max-sessions is told while all the others are open (the server's first
    message on that WebSocket)."""
    from websockets.asyncio.client import connect

    async with connect(url.replace("http://", "ws://") + "/ws") as ws:
        return await asyncio.wait_for(ws.recv(), timeout=30)


async def bad_request_then_good(url: str) -> dict:
    """A reset that tries to set an operator setting is refused; the same session then still works."""
    async with R1CIEnvClient(url) as client:
        try:
            await client.reset(task="Game24", seed=0, sandbox="local")
            refused = "accepted"
        except Exception as exc:  # the server's error message is what the test checks
            refused = str(exc)
        result = await client.reset(task="Game24", seed=0)
    expected, _ = EnvSettings().make("Game24").reset(seed=0)
    return {"refused": refused, "prompt_after": result.observation.text, "prompt_expected": expected}


async def remote_all(url: str, tasks: list[str]) -> tuple[list, dict, str]:
    stats = {"open": 0, "max_open": 0}
    opened = asyncio.Barrier(len(tasks) + 1)
    make_client = client_factory([url, url.replace("127.0.0.1", "localhost")], message_timeout_s=120)
    clients = [make_client() for _ in tasks]
    stats["urls"] = sorted({client._ws_url for client in clients})
    runs = [
        asyncio.create_task(play_remote(client, task, seed, opened, stats))
        for seed, (client, task) in enumerate(zip(clients, tasks))
    ]
    while stats["open"] < len(tasks):
        await asyncio.sleep(0.05)
        for run in runs:
            if run.done() and run.exception():
                raise run.exception()
    refused = await over_capacity(url)
    await opened.wait()
    episodes = await asyncio.gather(*runs)
    stats["bad_request"] = await bad_request_then_good(url)
    return episodes, stats, refused


def sync_session(url: str) -> dict:
    """The blocking client (`.sync()`), as a TRL environment_factory class would hold it."""
    client = client_factory([url])().sync().connect()
    try:
        prompt = client.reset(task="Game24", seed=0).observation.text
        observation = client.step(R1CIAction(text="```python\nprint(6 * 7)\n```")).observation.text
    finally:
        client.close()
    return {"prompt": prompt, "observation": observation}


def wait_healthy(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("server did not become healthy")


def main() -> None:
    port, tasks = int(sys.argv[1]), sys.argv[2:]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "serve",
            "openenv",
            "--port",
            str(port),
            "--max-sessions",
            str(len(tasks)),
        ],
        env=os.environ,
    )
    try:
        wait_healthy(url, server)
        started = time.monotonic()
        remote, stats, refused = asyncio.run(remote_all(url, tasks))
        remote_s = time.monotonic() - started
        stats["sync"] = sync_session(url)
    finally:
        server.terminate()
        server.wait(timeout=60)
    local = [play_local(task, seed) for seed, task in enumerate(tasks)]
    print(
        json.dumps(
            {
                "tasks": tasks,
                "remote": remote,
                "local": local,
                "max_open": stats["max_open"],
                "urls": stats["urls"],
                "refused": refused,
                "bad_request": stats["bad_request"],
                "sync": stats["sync"],
                "remote_s": round(remote_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
