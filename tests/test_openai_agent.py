"""The `openai:` agent: request shape in both conversation modes, the stop fence put back, retries on
transient failures only, the shared concurrency limit; and `r1ci bench --agent openai:...` against a
real `transformers serve` of the tiny Qwen2 model (tests/tiny_qwen.py).

A scripted OpenAI-compatible server (stdlib `http.server` in a thread) stands in for most tests, so
that replies, failures and timing are exact."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import gymnasium as gym
import pytest

import r1ci_env  # noqa: F401 - registers the environments
from agents import AgentError, make_agent, run_episode
from agents.bench import run_bench
from agents.openai_agent import OpenAIAgent, stopped_inside_block
from agents.report import read_jsonl

REPO = Path(__file__).resolve().parent.parent
FENCE = "`" * 3


class ScriptedServer:
    """An OpenAI-compatible /chat/completions endpoint whose replies come from `handler(body, n)`,
    which returns (status, payload dict, extra headers) or a reply dict for a 200."""

    def __init__(self, handler, delay: float = 0.0) -> None:
        self.handler = handler
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                    count = len(server.requests)
                    server.in_flight += 1
                    server.peak = max(server.peak, server.in_flight)
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    result = server.handler(body, count)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                status, payload, headers = result if isinstance(result, tuple) else (200, result, {})
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(content, finish="stop", **choice):
    return {
        "id": "x",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish, **choice}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@pytest.fixture
def scripted():
    servers = []

    def start(handler, delay=0.0):
        server = ScriptedServer(handler, delay)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def agent_for(server, **options) -> OpenAIAgent:
    options.setdefault("backoff", 0.01)
    options.setdefault("max_backoff", 0.05)
    return OpenAIAgent("m", base_url=server.base_url, **options)


def two_turns(body, n):
    """First a code block cut at its closing fence (stop string removed, as servers do), then an answer."""
    if n % 2 == 1:
        return reply(f"Let me compute.\n{FENCE}python\nprint(6 * 7)\n")
    return reply("The product is <<<42>>>")


# ------------------------------------------------------------------------------ one episode


def test_episode_in_messages_mode_puts_the_fence_back(scripted):
    server = scripted(two_turns)
    agent = agent_for(server, temperature=0.3, top_p=0.9, max_tokens=77, api_key="sk-test")
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local")
    episode = run_episode(env, agent, seed=0)
    assert episode.code_calls == 1 and episode.num_turns == 2 and episode.answer == "42"
    assert f"print(6 * 7)\n{FENCE}\nCode Execution Results:\n42\n" in episode.transcript
    first, second = (r["body"] for r in server.requests)
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert server.requests[0]["auth"] == "Bearer sk-test"
    assert first["model"] == "m" and first["temperature"] == 0.3 and first["top_p"] == 0.9
    assert first["max_tokens"] == 77 and first["stop"] == [f"{FENCE}\n"]
    assert [m["role"] for m in first["messages"]] == ["user"]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    assert second["messages"][1]["content"].endswith(f"print(6 * 7)\n{FENCE}")  # as the env keeps it
    assert second["messages"][2]["content"] == "Code Execution Results:\n42"
    assert "continue_final_message" not in second
    assert agent.episode_stats["requests"] == 2 and agent.episode_stats["completion_tokens"] == 10


def test_continue_mode_sends_one_growing_assistant_message(scripted):
    server = scripted(two_turns)
    agent = agent_for(server, conversation="continue", extra_body={"top_k": 5})
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local")
    episode = run_episode(env, agent, seed=0)
    first, second = (r["body"] for r in server.requests)
    assert "continue_final_message" not in first and first["top_k"] == 5
    assert [m["role"] for m in second["messages"]] == ["user", "assistant"]
    assert second["continue_final_message"] is True and second["add_generation_prompt"] is False
    prompt = second["messages"][0]["content"]
    assert (
        prompt + second["messages"][1]["content"]
        == episode.transcript[: len(prompt + second["messages"][1]["content"])]
    )
    assert second["messages"][1]["content"].endswith("Code Execution Results:\n42\n")


@pytest.mark.parametrize("accepts", [True, False])
def test_auto_conversation_continues_where_the_server_can_else_falls_back(scripted, accepts):
    def server_side(body, n):
        if "continue_final_message" in body and not accepts:
            return 422, {"detail": "Extra inputs are not permitted: continue_final_message"}, {}
        has_output = any("Code Execution Results:\n42" in m["content"] for m in body["messages"])
        if has_output:
            return reply("The product is <<<42>>>")
        return reply(f"Let me compute.\n{FENCE}python\nprint(6 * 7)\n")

    server = scripted(server_side)
    base = agent_for(server, conversation="auto")
    for _ in range(2):  # the second episode shares the client, and what it learnt
        agent = base.spawn()
        episode = run_episode(gym.make("r1ci/NumberMultiply-v0", sandbox="local"), agent, seed=0)
        assert episode.num_turns == 2
        assert episode.conversation == ("assistant_continuation" if accepts else "chat_messages")
        sent = episode.agent_stats["messages_sent"]
        assert [m["role"] for m in sent] == (["user", "assistant"] if accepts else ["user", "assistant", "user"])
    rejected = [r for r in server.requests if "continue_final_message" in r["body"]]
    assert len(rejected) == (2 if accepts else 1)  # a refusing server is asked once, then never again


def test_stop_fence_is_restored_only_when_generation_stopped_on_it():
    agent = OpenAIAgent("m", base_url="http://127.0.0.1:9/v1")
    open_block = f"x\n{FENCE}python\nprint(1)\n"
    assert stopped_inside_block(open_block) and not stopped_inside_block(open_block + FENCE)
    assert agent._restore_stop(open_block, "stop") == open_block + f"{FENCE}\n"  # fence removed by the server
    assert (
        agent._restore_stop(open_block + f"{FENCE}\n", "stop") == open_block + f"{FENCE}\n"
    )  # kept (transformers serve)
    assert agent._restore_stop(open_block, "length") == open_block  # ran out of tokens inside the block
    assert agent._restore_stop("no code <<<1>>>", "stop") == "no code <<<1>>>"
    # vLLM says what stopped generation: the stop string, or None / a token id for end of sequence.
    assert agent._restore_stop(open_block, "stop", f"{FENCE}\n") == open_block + f"{FENCE}\n"
    assert agent._restore_stop(open_block, "stop", None) == open_block
    assert agent._restore_stop(open_block, "stop", 151645) == open_block


def test_context_length_error_ends_the_turn_without_text(scripted):
    server = scripted(
        lambda body, n: (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 8 tokens",
                    "code": "context_length_exceeded",
                }
            },
            {},
        )
    )
    agent = agent_for(server)
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local")
    episode = run_episode(env, agent, seed=0)
    assert episode.reward == 0.0 and episode.num_turns == 1 and len(server.requests) == 1
    assert agent.episode_stats["stop_reasons"] == ["context_length"]


# ------------------------------------------------------------------------------ failures


def test_transient_failures_are_retried_with_backoff(scripted):
    def flaky(body, n):
        if n == 1:
            return 503, {"error": "overloaded"}, {}
        if n == 2:
            return 429, {"error": "slow down"}, {"Retry-After": "0"}
        return reply("<<<1>>>")

    server = scripted(flaky)
    agent = agent_for(server)
    agent.reset("prompt", {})
    assert agent.act("prompt", {}) == "<<<1>>>"
    assert len(server.requests) == 3 and agent.episode_stats["retries"] == 2


@pytest.mark.parametrize("status, fatal", [(400, False), (401, True), (404, True), (422, True)])
def test_client_errors_are_never_retried(scripted, status, fatal):
    server = scripted(lambda body, n: (status, {"error": "no"}, {}))
    agent = agent_for(server, retries=5)
    agent.reset("prompt", {})
    with pytest.raises(AgentError) as caught:
        agent.act("prompt", {})
    assert len(server.requests) == 1
    assert caught.value.fatal is fatal and caught.value.status == status


def test_connection_refused_and_timeouts_raise_agent_error_after_retries(scripted):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    agent = OpenAIAgent("m", base_url=f"http://127.0.0.1:{port}/v1", retries=2, backoff=0.01)
    agent.reset("p", {})
    with pytest.raises(AgentError, match="3 attempt"):
        agent.act("p", {})
    slow = scripted(lambda body, n: reply("late"), delay=1.0)
    agent = agent_for(slow, retries=1, timeout=0.2)
    agent.reset("p", {})
    with pytest.raises(AgentError, match="2 attempt"):
        agent.act("p", {})
    assert len(slow.requests) == 2


def test_concurrency_limit_is_shared_by_spawned_agents(scripted):
    server = scripted(lambda body, n: reply("<<<1>>>"), delay=0.15)
    base = agent_for(server, max_concurrency=2)
    agents = [base.spawn() for _ in range(6)]
    assert all(a.client is base.client for a in agents) and len({id(a) for a in agents}) == 6

    def one(agent):
        agent.reset("p", {})
        return agent.act("p", {})

    threads = [threading.Thread(target=one, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.requests) == 6 and server.peak <= 2 and base.client.peak_in_flight == 2


def test_make_agent_reads_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    agent = make_agent("openai:org/model:tag", temperature=0.0)
    assert agent.model == "org/model:tag" and agent.client.url == "http://127.0.0.1:1234/v1/chat/completions"
    assert agent.client.api_key == "EMPTY" and agent.sampling["temperature"] == 0.0
    with pytest.raises(ValueError, match="conversation"):
        make_agent("openai:m", conversation="chat")


# ------------------------------------------------------------------------------ the benchmark


def test_bench_reports_agent_transport_failures_apart(scripted, tmp_path):
    server = scripted(lambda body, n: (500, {"error": "boom"}, {}))
    result = run_bench(
        "openai:m",
        out=tmp_path,
        tasks="NumberMultiply",
        n=2,
        sandbox="local",
        retries=1,
        retry_delay=0.0,
        progress=False,
        agent_options={"base_url": server.base_url, "retries": 1, "backoff": 0.01},
    )
    assert result.episodes_run == 0 and result.lost == 2 and result.errors == 4  # 2 episodes x 2 attempts
    assert read_jsonl(tmp_path / "episodes.jsonl") == []
    errors = read_jsonl(tmp_path / "errors.jsonl")
    assert {e["kind"] for e in errors} == {"infra"} and sum(e["final"] for e in errors) == 2
    assert "episodes lost after every retry: 2" in (tmp_path / "summary.md").read_text()


def test_bench_stops_on_a_fatal_agent_error(scripted, tmp_path):
    server = scripted(lambda body, n: (404, {"error": "no such model"}, {}))
    result = run_bench(
        "openai:m",
        out=tmp_path,
        tasks="NumberMultiply",
        n=6,
        concurrency=1,
        sandbox="local",
        progress=False,
        agent_options={"base_url": server.base_url},
    )
    assert result.aborted and "404" in result.aborted and len(server.requests) == 1


# ------------------------------------------------------------------------------ transformers serve


@pytest.fixture(scope="module")
def served_tiny_model(tmp_path_factory):
    """A real `transformers serve` of the tiny Qwen2 model on 127.0.0.1 (a subprocess)."""
    sys.path.insert(0, str(REPO / "tests"))
    from serving import skip_without_serving, transformers_serve
    from tiny_qwen import save_tiny_model

    skip_without_serving()
    model_dir = save_tiny_model(tmp_path_factory.mktemp("tiny-qwen"))
    with transformers_serve(model_dir, tmp_path_factory.mktemp("serve-log") / "serve.log") as base_url:
        yield str(model_dir), base_url


@pytest.mark.slow
def test_agent_talks_to_transformers_serve(served_tiny_model):
    model, base_url = served_tiny_model
    agent = OpenAIAgent(model, base_url=base_url, max_tokens=16, temperature=1.0, seed=3)
    agent.reset("What is 6 * 7?", {})
    text = agent.act("What is 6 * 7?", {})
    assert isinstance(text, str)
    assert agent.episode_stats["requests"] == 1 and agent.episode_stats["completion_tokens"] >= 1
    assert agent.episode_stats["stop_reasons"][0] in ("stop", "length")
    # conversation=auto: transformers serve refuses to continue an assistant message, so chat messages it is
    agent = OpenAIAgent(model, base_url=base_url, max_tokens=4, conversation="auto")
    agent.reset("What is 6 * 7?", {})
    agent.act("What is 6 * 7?", {})
    agent.act("\nCode Execution Results:\n42\n", {})
    assert agent.client.continues is False and agent.conversation == "chat_messages"
    assert agent.episode_stats["requests"] == 2


@pytest.mark.slow
def test_r1ci_bench_against_transformers_serve(served_tiny_model, tmp_path):
    model, base_url = served_tiny_model
    out = tmp_path / "bench"
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "EMPTY", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agents.cli",
            "bench",
            "--agent",
            f"openai:{model}",
            "--tasks",
            "NumberMultiply,Game24",
            "--n",
            "2",
            "--concurrency",
            "2",
            "--sandbox",
            "local",
            "--max-tokens",
            "24",
            "--temperature",
            "1.0",
            "--out",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("episodes.jsonl", "errors.jsonl", "summary.md", "summary.csv", "plot.png", "manifest.json"):
        assert (out / name).is_file(), name
    episodes = read_jsonl(out / "episodes.jsonl")
    assert sorted((e["task"], e["seed"]) for e in episodes) == [
        ("Game24", 0),
        ("Game24", 1),
        ("NumberMultiply", 0),
        ("NumberMultiply", 1),
    ]
    assert all(e["agent"] == f"openai:{model}" and e["agent_stats"]["requests"] >= 1 for e in episodes)
    assert all(0.0 <= e["reward"] <= 1.0 for e in episodes)
    assert read_jsonl(out / "errors.jsonl") == []  # no infrastructure error, so none scored as a wrong answer
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["agent"] == f"openai:{model}" and manifest["runs"][0]["episodes_run"] == 4
    assert "episodes lost after every retry: 0" in (out / "summary.md").read_text()


def bench_against(base_url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "EMPTY", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", "bench", *args, "--sandbox", "local", "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


@pytest.mark.slow
def test_a_wrong_model_name_stops_the_run_after_a_few_identical_errors(served_tiny_model, tmp_path):
    _, base_url = served_tiny_model
    done = bench_against(
        base_url,
        "--agent",
        "openai:no-such-model",
        "--tasks",
        "NumberMultiply,Game24",
        "--n",
        "20",
        "--concurrency",
        "1",
        "--max-tokens",
        "8",
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    first = [line for line in lines if line.startswith("r1ci bench: error (infra")]
    assert len(first) == 1 and "HTTP 400" in first[0] and "no-such-model" in first[0]  # printed once, at once
    assert "3 episodes failed with the same error" in lines[-1] and "--resume" in lines[-1]
    errors = read_jsonl(tmp_path / "out" / "errors.jsonl")
    assert len(errors) == 3 and all(e["final"] and "HTTP 400" in e["error"] for e in errors)


def kill_transformers_serve(model_dir: Path) -> int:
    """SIGKILL the `transformers serve` process serving `model_dir` (found in /proc); returns how many."""
    killed = 0
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in words and str(model_dir).encode() in words and proc.name.isdigit():
            os.kill(int(proc.name), signal.SIGKILL)
            killed += 1
    return killed


@pytest.mark.slow
def test_a_server_killed_mid_run_ends_the_run_with_the_resume_command(tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from serving import skip_without_serving, transformers_serve
    from tiny_qwen import save_tiny_model

    skip_without_serving()
    model_dir = save_tiny_model(tmp_path / "tiny-qwen")
    out = tmp_path / "out"
    args = [
        "--agent",
        f"openai:{model_dir}",
        "--tasks",
        "NumberMultiply,Game24",
        "--n",
        "40",
        "--concurrency",
        "2",
        "--max-tokens",
        "64",
        "--temperature",
        "0",
        "--agent-option",
        "retries=3",
        "--agent-option",
        "backoff=0.5",
        "--out",
        str(out),
    ]
    with transformers_serve(model_dir, tmp_path / "serve.log") as base_url:
        env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "EMPTY", "OMP_NUM_THREADS": "1"}
        bench = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "bench", *args, "--sandbox", "local", "--no-progress"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        episodes = out / "episodes.jsonl"
        deadline = time.monotonic() + 300
        while not (episodes.exists() and episodes.read_bytes().count(b"\n") >= 3):
            assert bench.poll() is None and time.monotonic() < deadline, bench.communicate()
            time.sleep(0.05)
        assert kill_transformers_serve(model_dir) == 1
        killed = time.monotonic()
        stdout, stderr = bench.communicate(timeout=120)
    # retries=3 with backoff 0.5 s doubling (jittered) bound the wait: a few seconds, not minutes
    assert time.monotonic() - killed < 30 and bench.returncode == 2, stderr
    assert "the model endpoint is unreachable" in stderr and "Traceback" not in stderr
    assert f"continue with: r1ci bench {' '.join(args)} --sandbox local --no-progress --resume" in stderr
    written = read_jsonl(episodes)
    assert 3 <= len(written) < 80
    errors = read_jsonl(out / "errors.jsonl")
    assert errors and all(e["kind"] == "infra" for e in errors)
    assert f"episodes scored: {len(written)} " in (out / "summary.md").read_text()
