"""The `openai:<model>` agent: any OpenAI-compatible chat-completions server (OpenAI, `vllm serve`,
`transformers serve`, SGLang, llama.cpp, ...), through the `openai` SDK (`pip install 'r1ci[openai]'`).

- Server: `base_url` (default `$OPENAI_BASE_URL`, else `https://api.openai.com/v1`) and `api_key`
  (default `$OPENAI_API_KEY`, else `"EMPTY"`, which local servers accept). The request goes to
  `<base_url>/chat/completions`.
- Sampling: `temperature` (default 0.6, the R1-CI evaluation setting), `top_p`, `max_tokens` (per
  turn; `max_tokens_field="max_completion_tokens"` for servers that want that name), `seed`, and
  `extra_body` (a dict merged into every request, e.g. `{"top_k": 20}` for vLLM).
- Stop: generation stops at the closing fence of a Python block (`stop`, default ["```\\n"]; the opening
  fence "```python" does not match it). Servers remove the stop string from the reply, so the agent puts
  the fence back, only when generation stopped on it: vLLM reports the matched string (`stop_reason`);
  otherwise, a reply that ended with `finish_reason="stop"` inside an unclosed Python block stopped on
  the fence. Servers that keep the stop string (`transformers serve`) need nothing added.
  Known limit of a stop string: a bare ``` fence opening a non-Python block also matches it; the turn
  then ends there (the env treats it as a turn without code).
- Conversation (`conversation=`): the R1-CI episode is one assistant message that grows across turns.
  * `"messages"` (the default, works with every server): the prompt is the user message, then each
    model turn is an assistant message and each observation a user message (`Code Execution
    Results: ...`).
  * `"continue"`: the prompt is the user message and everything so far (model text and observations)
    is one partial assistant message that the server continues: the R1-CI shape, as the hf and vllm
    agents see it. It needs a server that can continue a final assistant message: by default it sends
    `continue_final_message=true, add_generation_prompt=false` (vLLM's and SGLang's parameters);
    `continue_params` changes them. `transformers serve` and OpenAI reject these fields (HTTP 422/400).
  * `"auto"`: `"continue"` until the server rejects the fields (HTTP 400/422 on a continuation
    request), then `"messages"` for every agent sharing the client. A server that silently ignores
    unknown fields would be misread as supporting them: name the mode for such servers.
  Each episode records the mode its requests used (`conversation`: "assistant_continuation" or
  "chat_messages") and the messages of its last request (`agent_stats.messages_sent`).
- Robustness: at most `max_concurrency` requests in flight, shared by all agents spawned from one
  agent (a semaphore); each request has a `timeout` (seconds); transient failures (connection errors,
  timeouts, HTTP 408/409/429/5xx, a malformed reply) are retried `retries` times with exponential
  backoff and jitter (`backoff` doubling up to `max_backoff`, honouring `Retry-After`); any other 4xx
  is never retried. A context-length 400 ends the turn with no text (the model ran out of room: the
  episode is scored with what it has). Every other failure raises `AgentError` (an infrastructure
  error, reported apart by the benchmark; 401/403/404/405/422 are fatal: no retry can fix them;
  `unreachable=True` when no attempt reached the server, which stops `r1ci bench` with the command
  that resumes it). The SDK does the transport and error classes; the retry loop is this module's
  (the SDK's retries are off) so that retries are counted per episode.
- Seeding: `seed` is sent with every request; `r1ci bench` sets it per episode (see `agents.bench`).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from typing import Any

from r1ci_env import protocol

from .base import Agent
from .errors import AgentError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_STOP = ("```\n",)
# option value -> the conversation mode recorded with each episode (`Agent.conversation`)
CONVERSATIONS = {
    "messages": "chat_messages",
    "chat_messages": "chat_messages",
    "continue": "assistant_continuation",
    "assistant_continuation": "assistant_continuation",
    "auto": None,
}
CONTINUE_PARAMS = {"continue_final_message": True, "add_generation_prompt": False}
TRANSIENT_STATUS = frozenset({408, 409, 429})
FATAL_STATUS = frozenset({401, 403, 404, 405, 422})
_CONTEXT_LENGTH = re.compile(r"context[ _-]?length|maximum context|too many tokens|prompt is too long", re.I)
_OPEN_FENCE = re.compile(r"```(?:python3|python|py)[ \t]*\r?\n", re.IGNORECASE)


_ABSENT = object()


class _Transient(Exception):
    """A failure worth retrying; `delay` is the server's Retry-After, if any; `unreachable` when the
    server did not answer at all (no connection)."""

    def __init__(self, message: str, delay: float | None = None, unreachable: bool = False) -> None:
        super().__init__(message)
        self.delay = delay
        self.unreachable = unreachable


# Chat-completions parameters the SDK takes by name; anything else in a request body goes in `extra_body`.
SDK_PARAMETERS = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "stop",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
    }
)


class ChatClient:
    """One chat-completions endpoint through the `openai` SDK (transport, timeouts, error classes),
    shared (with its semaphore) by many agents. The retry policy is this class's (the SDK's own retries
    are off) so that retries are counted per episode and a dead endpoint is told apart from a slow one."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_concurrency: int = 16,
        timeout: float = 600.0,
        retries: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        try:
            import openai
        except ImportError as exc:
            raise ImportError(f"the openai agent needs the openai package: pip install 'r1ci[openai]' ({exc})") from exc
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.max_concurrency = int(max_concurrency)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._openai = openai
        self._sdk = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout, max_retries=0)
        self.continues: bool | None = None  # does the server continue a final assistant message? (auto mode)
        self._semaphore = threading.BoundedSemaphore(self.max_concurrency)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Send one chat-completions request; returns (reply as a dict, retries used). Raises `AgentError`
        (`unreachable=True` when no attempt reached the server)."""
        failure, unreachable = "", True
        for attempt in range(self.retries + 1):
            try:
                return self._post(body), attempt
            except _Transient as exc:
                failure, unreachable = str(exc), unreachable and exc.unreachable
                if attempt == self.retries:
                    break
                delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
                if exc.delay is not None:
                    delay = min(self.max_backoff, max(delay, exc.delay))
                time.sleep(delay)
        raise AgentError(f"{self.url}: failed after {self.retries + 1} attempt(s): {failure}", unreachable=unreachable)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        openai = self._openai
        named = {k: v for k, v in body.items() if k in SDK_PARAMETERS}
        extra = {k: v for k, v in body.items() if k not in SDK_PARAMETERS}
        with self._semaphore:
            with self._lock:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                completion = self._sdk.chat.completions.create(**named, extra_body=extra or None)
            except openai.APITimeoutError as exc:
                raise _Transient(f"timed out after {self.timeout:g} s ({exc})") from None
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc
                raise _Transient(f"cannot connect: {type(cause).__name__}: {cause}", unreachable=True) from None
            except openai.APIStatusError as exc:
                raise self._status_error(exc) from None
            except openai.OpenAIError as exc:  # a reply the SDK could not read
                raise _Transient(f"malformed reply: {type(exc).__name__}: {exc}") from None
            finally:
                with self._lock:
                    self.in_flight -= 1
        reply = completion.model_dump() if hasattr(completion, "model_dump") else completion
        if not isinstance(reply, dict) or not reply.get("choices"):
            raise _Transient(f"malformed reply: {str(reply)[:200]!r}")
        return reply

    def _status_error(self, exc: Any) -> Exception:
        status = int(exc.status_code)
        try:
            detail = exc.response.text[:500]
        except Exception:  # the body is only for the message
            detail = str(exc)[:500]
        message = f"HTTP {status} from {self.url}: {detail}"
        if status in TRANSIENT_STATUS or status >= 500:
            return _Transient(message, _retry_after(exc.response.headers.get("Retry-After")))
        if status == 400 and _CONTEXT_LENGTH.search(detail):
            return _ContextLength(message, status=status)
        return AgentError(message, fatal=status in FATAL_STATUS, status=status)


class _ContextLength(AgentError):
    """The conversation no longer fits the model's context."""


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def stopped_inside_block(text: str) -> bool:
    """True when `text` ends inside an unclosed Python block (the reply stopped at its closing fence)."""
    match = None
    for match in _OPEN_FENCE.finditer(text):
        pass
    if match is None:
        return False
    code, _, _ = protocol.extract_code(text[match.start() :])
    return code is None


class OpenAIAgent(Agent):
    """An agent backed by an OpenAI-compatible server; see the module docstring for every option.

    `spawn()` returns a fresh agent for another episode that shares this one's client (and so its
    concurrency limit); the benchmark calls it once per episode.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = 0.6,
        top_p: float | None = None,
        max_tokens: int | None = None,
        max_tokens_field: str = "max_tokens",
        seed: int | None = None,
        stop: list[str] | tuple[str, ...] | None = DEFAULT_STOP,
        conversation: str = "messages",
        continue_params: dict[str, Any] | None = None,
        system: str | None = None,
        extra_body: dict[str, Any] | None = None,
        max_concurrency: int = 16,
        timeout: float = 600.0,
        retries: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        client: ChatClient | None = None,
    ) -> None:
        if not model:
            raise ValueError("the openai agent needs a model name: openai:<model>")
        if conversation not in CONVERSATIONS:
            raise ValueError(f"conversation must be one of {', '.join(CONVERSATIONS)}; got {conversation!r}")
        self.model = model
        self.name = f"openai:{model}"
        self.client = client or ChatClient(
            base_url,
            api_key,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        self.sampling = {"temperature": temperature, "top_p": top_p, max_tokens_field: max_tokens}
        self.seed = seed
        self.stop = list(stop) if stop else []
        self.auto_conversation = CONVERSATIONS[conversation] is None
        self.conversation = CONVERSATIONS[conversation] or "assistant_continuation"
        self.continue_params = dict(CONTINUE_PARAMS if continue_params is None else continue_params)
        self.system = system
        self.extra_body = dict(extra_body or {})
        self._prompt = ""
        self._turns: list[str] = []  # model turns and observations, alternating
        self.episode_stats: dict[str, Any] = {}

    def spawn(self) -> OpenAIAgent:
        """A fresh agent (no episode state) sharing this agent's client and settings."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._prompt, twin._turns, twin.episode_stats = "", [], {}
        return twin

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        self._prompt = prompt
        self._turns = []
        self.episode_stats = {
            "requests": 0,
            "retries": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "stop_reasons": [],
            "messages_sent": [],
        }

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self._turns:  # every act after the first follows a code run: record what it printed
            self._turns.append(observation)
        text = self._generate()
        # Keep what the env keeps (the turn up to its first closed block), so history matches the transcript.
        kept = protocol.extract_code(text)[1]
        self._turns.append(kept)
        return kept

    def _mode(self) -> str:
        """The conversation shape of the next request."""
        if self.auto_conversation:
            return "chat_messages" if self.client.continues is False else "assistant_continuation"
        return self.conversation

    def messages(self) -> list[dict[str, str]]:
        """The request's messages for the next turn."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        head.append({"role": "user", "content": self._prompt})
        if not self._turns:
            return head
        if self._mode() == "assistant_continuation":
            return head + [{"role": "assistant", "content": "".join(self._turns)}]
        tail = []
        for i, part in enumerate(self._turns):
            if i % 2 == 0:
                tail.append({"role": "assistant", "content": part})
            else:
                tail.append({"role": "user", "content": part.strip("\n")})
        return head + tail

    def request_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": self.messages()}
        body.update({key: value for key, value in self.sampling.items() if value is not None})
        if self.seed is not None:
            body["seed"] = int(self.seed)
        if self.stop:
            body["stop"] = self.stop
        if self._mode() == "assistant_continuation" and self._turns:
            body.update(self.continue_params)
        body.update(self.extra_body)
        return body

    def _generate(self) -> str:
        stats = self.episode_stats
        mode = self.conversation = self._mode()
        probing = self.auto_conversation and self._turns and mode == "assistant_continuation"
        try:
            body = self.request_body()
            stats["messages_sent"] = body["messages"]  # the last request holds the whole conversation
            reply, retries = self.client.chat(body)
        except _ContextLength:
            stats.setdefault("stop_reasons", []).append("context_length")
            return ""
        except AgentError as exc:
            if probing and exc.status in (400, 422) and not self.client.continues:
                self.client.continues = False  # the server does not continue assistant messages
                return self._generate()
            raise
        if probing:
            self.client.continues = True
        choice = reply["choices"][0]
        text = (choice.get("message") or {}).get("content") or ""
        finish = choice.get("finish_reason")
        usage = reply.get("usage") or {}
        stats["requests"] = stats.get("requests", 0) + 1
        stats["retries"] = stats.get("retries", 0) + retries
        stats["prompt_tokens"] = stats.get("prompt_tokens", 0) + int(usage.get("prompt_tokens") or 0)
        stats["completion_tokens"] = stats.get("completion_tokens", 0) + int(usage.get("completion_tokens") or 0)
        stats.setdefault("stop_reasons", []).append(finish)
        return self._restore_stop(text, finish, choice.get("stop_reason", _ABSENT))

    def _restore_stop(self, text: str, finish: str | None, stop_reason: Any = _ABSENT) -> str:
        """Put back the stop string the server removed, only when generation stopped on it."""
        if finish != "stop" or not self.stop:
            return text
        if stop_reason is not _ABSENT:  # vLLM: the matched stop string, or None/a token id for EOS
            if isinstance(stop_reason, str) and stop_reason in self.stop and stopped_inside_block(text):
                return text + stop_reason
            return text
        if stopped_inside_block(text):
            return text + self.stop[0]
        return text
