"""The `openai:` agent: request shape in both conversation modes, the stop fence put back, retries on
transient failures only, the shared concurrency limit; and `r1ci bench --agent openai:...` against a
real `transformers serve` of the tiny Qwen2 model (tests/tiny_qwen.py).

A scripted OpenAI-compatible server (stdlib `http.server` in a thread) stands in for most tests, so
that replies, failures and timing are exact."""
from __future__ import annotations

import json
import os
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
                    server.requests.append({"path": self.path, "body": body,
                                            "auth": self.headers.get("Authorization")})
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
    return {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish,
                         **choice}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


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
    assert episode.code_calls == 1 and episode.turns == 2 and episode.answer == "42"
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
    assert prompt + second["messages"][1]["content"] == episode.transcript[:len(prompt + second["messages"][1]["content"])]
    assert second["messages"][1]["content"].endswith("Code Execution Results:\n42\n")


def test_stop_fence_is_restored_only_when_generation_stopped_on_it():
    agent = OpenAIAgent("m", base_url="http://127.0.0.1:9/v1")
    open_block = f"x\n{FENCE}python\nprint(1)\n"
    assert stopped_inside_block(open_block) and not stopped_inside_block(open_block + FENCE)
    assert agent._restore_stop(open_block, "stop") == open_block + f"{FENCE}\n"  # fence removed by the server
    assert agent._restore_stop(open_block + f"{FENCE}\n", "stop") == open_block + f"{FENCE}\n"  # kept (transformers serve)
    assert agent._restore_stop(open_block, "length") == open_block  # ran out of tokens inside the block
    assert agent._restore_stop("no code <<<1>>>", "stop") == "no code <<<1>>>"
    # vLLM says what stopped generation: the stop string, or None / a token id for end of sequence.
    assert agent._restore_stop(open_block, "stop", f"{FENCE}\n") == open_block + f"{FENCE}\n"
    assert agent._restore_stop(open_block, "stop", None) == open_block
    assert agent._restore_stop(open_block, "stop", 151645) == open_block


def test_context_length_error_ends_the_turn_without_text(scripted):
    server = scripted(lambda body, n: (400, {"error": {"message": "This model's maximum context length is 8 tokens",
                                                      "code": "context_length_exceeded"}}, {}))
    agent = agent_for(server)
    env = gym.make("r1ci/NumberMultiply-v0", sandbox="local")
    episode = run_episode(env, agent, seed=0)
    assert episode.reward == 0.0 and episode.turns == 1 and len(server.requests) == 1
    assert agent.episode_stats["finish_reasons"] == ["context_length"]


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
    result = run_bench("openai:m", out=tmp_path, tasks="NumberMultiply", n=2, sandbox="local", retries=1,
                       retry_delay=0.0, progress=False, agent_options={"base_url": server.base_url, "retries": 1,
                                                                        "backoff": 0.01})
    assert result.episodes_run == 0 and result.lost == 2 and result.errors == 4  # 2 episodes x 2 attempts
    assert read_jsonl(tmp_path / "episodes.jsonl") == []
    errors = read_jsonl(tmp_path / "errors.jsonl")
    assert {e["kind"] for e in errors} == {"infra"} and sum(e["final"] for e in errors) == 2
    assert "episodes lost after every retry: 2" in (tmp_path / "summary.md").read_text()


def test_bench_stops_on_a_fatal_agent_error(scripted, tmp_path):
    server = scripted(lambda body, n: (404, {"error": "no such model"}, {}))
    result = run_bench("openai:m", out=tmp_path, tasks="NumberMultiply", n=6, concurrency=1, sandbox="local",
                       progress=False, agent_options={"base_url": server.base_url})
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
    assert agent.episode_stats["finish_reasons"][0] in ("stop", "length")


@pytest.mark.slow
def test_r1ci_bench_against_transformers_serve(served_tiny_model, tmp_path):
    model, base_url = served_tiny_model
    out = tmp_path / "bench"
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "EMPTY", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "bench", "--agent", f"openai:{model}", "--tasks", "NumberMultiply,Game24",
         "--n", "2", "--concurrency", "2", "--sandbox", "local", "--max-tokens", "24", "--temperature", "1.0",
         "--out", str(out), "--no-progress"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("episodes.jsonl", "errors.jsonl", "summary.md", "summary.csv", "plot.png", "manifest.json"):
        assert (out / name).is_file(), name
    episodes = read_jsonl(out / "episodes.jsonl")
    assert sorted((e["task"], e["seed"]) for e in episodes) == [("Game24", 0), ("Game24", 1),
                                                              ("NumberMultiply", 0), ("NumberMultiply", 1)]
    assert all(e["agent"] == f"openai:{model}" and e["agent_stats"]["requests"] >= 1 for e in episodes)
    assert all(0.0 <= e["reward"] <= 1.0 for e in episodes)
    assert read_jsonl(out / "errors.jsonl") == []  # no infrastructure error, so none scored as a wrong answer
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["agent"] == f"openai:{model}" and manifest["runs"][0]["episodes_run"] == 4
    assert "episodes lost after every retry: 0" in (out / "summary.md").read_text()
