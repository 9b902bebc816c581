"""The `docker` backend: a pool of long-lived hardened containers, each running our executor.

Each container runs `executor.py` (injected as `python3 -I -c <source>`, so any image with python3
works) and serves several concurrent runs ("slots"), each in its own user, mount, IPC and network
namespaces, forked from a keeper that never saw another run (docs/sandbox.md). The host talks to it
over the container's attach stream in JSON lines. Containers are labelled, removed on close and at
interpreter exit, swept at start when their owner process is gone, replaced when they die, and
drained (no new work, replaced once idle) when a slot goes out of service. Infrastructure failures
are retried once and then raised as `SandboxError`; they are never returned as program output.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import socket
import struct
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import sandbox_image
from .base import (
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_TIMEOUT,
    RESET_NOTE,
    ExecResult,
    Sandbox,
    SandboxError,
    SandboxSession,
)
from .local import EXECUTOR_PATH

LABEL = "r1ci.sandbox"
OWNER_LABEL = "r1ci.owner"
EXECUTOR_SOURCE = Path(EXECUTOR_PATH).read_text()
_GRACE = 5.0  # seconds beyond a run's timeout before the host gives up on the executor
_START_TIMEOUT = 60.0


class _InfraError(Exception):
    """A container-level failure; the pool retires the container and may retry the run."""


@dataclass
class PoolConfig:
    """How the pool is shaped and what each run may use.

    `memory_mb` is per run (RLIMIT_AS). Each slot also gets fresh tmpfs instances per run: its scratch
    directory (`scratch_mb`), /tmp and /dev/shm (`tmp_mb` each). A container's memory limit is
    `slots * (memory_mb + scratch_mb + 2 * tmp_mb) + 256` MiB, so one run's memory and files cannot
    starve its neighbours. Slots in one container share CPU; use `strict=True` (one slot per
    container) when that matters.
    """

    image: str = field(default_factory=sandbox_image)
    engines: Sequence[str] | None = None  # Docker engine URLs; None: the environment's default
    containers: int = 2
    slots: int = 4
    strict: bool = False
    memory_mb: int = 1024
    cpus: float | None = None  # per container; None: no CPU quota
    pids: int = 512
    scratch_mb: int = 64
    tmp_mb: int = 16  # each of /tmp and /dev/shm, per slot
    scratch_inodes: int = 4096  # per tmpfs (scratch, /tmp, /dev/shm)
    max_file_bytes: int = 16 * 1024 * 1024
    nproc: int = 64
    preload: Sequence[str] = ("numpy", "sympy")
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_waiting: int = 1024  # callers allowed to wait for a free slot before run() refuses
    retries: int = 1  # transparent retries of a run whose container failed (infrastructure only)

    def slots_per_container(self) -> int:
        return 1 if self.strict else min(self.slots, MAX_SLOTS)


MAX_SLOTS = 32  # per container: the executor maps slot uids at uid_base + slot and keepers at + 32

# The container's seccomp profile: every call allowed but those listed. It differs from Docker's
# default in one way that matters: unshare(2) and mount(2) are allowed, because each slot's keeper
# creates its namespaces and mounts fresh tmpfs instances (root processes hold only SETUID and
# SETGID, so only a user namespace gives them that power). Programs never get them: the executor
# installs a stricter filter in every run (executor.DENIED_SYSCALLS).
SECCOMP_DENIED = (
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "get_kernel_syms",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "move_pages",
    "mbind",
    "set_mempolicy",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "_sysctl",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
)
CLONE_NAMESPACE_FLAGS = (0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def seccomp_profile() -> str:
    """The container's seccomp profile as Docker's JSON: the calls above fail with EPERM, clone()
    with a namespace flag too (the keepers use unshare), clone3 with ENOSYS (its flags cannot be
    inspected; libc falls back to clone)."""
    rules = [
        {"names": list(SECCOMP_DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    ]
    rules += [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 1,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
        }
        for flag in CLONE_NAMESPACE_FLAGS
    ]
    return json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Container:
    """One running container and the JSON-lines channel to its executor."""

    def __init__(self, client: Any, config: PoolConfig, engine: str, on_death: Any = None) -> None:
        self.client = client
        self.on_death = on_death
        self.engine = engine
        self.config = config
        self.capacity = config.slots_per_container()
        self.in_use = 0
        self.dead = False
        self.draining = False  # a slot went out of service: no new work; replaced once idle
        self.death: str = ""
        self._ids = itertools.count(1)
        self._waiting: dict[int, list] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._stderr = bytearray()
        self._ready = threading.Event()
        self._ready_info: dict = {}
        self.container = self._create()
        try:
            self._sock = self.container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._raw = getattr(self._sock, "_sock", self._sock)
            self.container.start()
        except Exception as exc:  # noqa: BLE001 - anything here is the daemon's failure
            self.kill()
            raise _InfraError(f"could not start a sandbox container: {exc}") from exc
        self._reader = threading.Thread(target=self._read_loop, name="r1ci-sandbox-reader", daemon=True)
        self._reader.start()
        if not self._ready.wait(_START_TIMEOUT) or self.dead:
            detail = self.death or "no ready message"
            self.kill()
            raise _InfraError(f"sandbox container did not become ready: {detail}")

    def _create(self) -> Any:
        cfg = self.config
        slots = self.capacity
        uid_base = 100_000 + random.randrange(1, 1 << 24) * 64  # slot uids at + slot, keeper uids at + 32 + slot
        executor_config = {
            "slots": slots,
            "uid_base": uid_base,
            "scratch_root": "/sandbox",
            "preload": list(cfg.preload),
            "memory_mb": cfg.memory_mb,
            "max_file_bytes": cfg.max_file_bytes,
            "nproc": cfg.nproc,
            "scratch_mb": cfg.scratch_mb,
            "tmp_mb": cfg.tmp_mb,
            "inodes": cfg.scratch_inodes,
        }
        # Only mount points here: each slot's keeper mounts its own scratch, /tmp and /dev/shm per run.
        tmpfs = {"/sandbox": "rw,nosuid,nodev,noexec,size=64k,nr_inodes=256,mode=0755"}
        memory = f"{slots * (cfg.memory_mb + cfg.scratch_mb + 2 * cfg.tmp_mb) + 256}m"
        api = self.client.api
        host_config = api.create_host_config(
            auto_remove=True,
            network_mode="none",
            read_only=True,
            tmpfs=tmpfs,
            pids_limit=cfg.pids,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=int(cfg.cpus * 1e9) if cfg.cpus else None,
            shm_size="64k",  # the container's own /dev/shm; runs get a private one
            cap_drop=["ALL"],
            # SETUID/SETGID to write the keepers' uid/gid maps. Programs never hold any capability:
            # setresuid to the slot uid clears them; no-new-privileges holds.
            cap_add=["SETUID", "SETGID"],
            security_opt=["no-new-privileges", f"seccomp={seccomp_profile()}"],
            init=True,
        )
        try:
            created = api.create_container(
                cfg.image,
                command=["python3", "-I", "-c", EXECUTOR_SOURCE, json.dumps(executor_config)],
                stdin_open=True,
                detach=False,  # with stdin_open this sets StdinOnce: stdin closes when our attach
                tty=False,  # connection drops (the host process died), and the executor then exits
                user="0:0",
                working_dir="/",
                environment={"LANG": "C.UTF-8"},
                labels={LABEL: "1", OWNER_LABEL: _owner()},
                host_config=host_config,
            )
            return self.client.containers.get(created["Id"])
        except Exception as exc:  # noqa: BLE001
            raise _InfraError(f"could not create a sandbox container: {exc}") from exc

    # -- channel

    def _read_loop(self) -> None:
        buffer = bytearray()
        try:
            while True:
                header = self._recv_exactly(8)
                if header is None:
                    break
                stream, size = header[0], struct.unpack(">I", header[4:])[0]
                payload = self._recv_exactly(size)
                if payload is None:
                    break
                if stream == 2:
                    self._stderr += payload
                    del self._stderr[:-8192]
                    continue
                start = len(buffer)
                buffer += payload
                end = buffer.find(b"\n", start)
                while end >= 0:  # linear in the bytes received, however long a line is
                    self._deliver(json.loads(bytes(buffer[:end])))
                    del buffer[: end + 1]
                    end = buffer.find(b"\n")
        except Exception as exc:  # noqa: BLE001 - the channel broke; recorded as the death cause
            self._die(f"channel error: {exc}")
            return
        self._die("the executor closed its output")

    def _recv_exactly(self, size: int) -> bytes | None:
        chunks = []
        while size:
            chunk = self._raw.recv(min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _deliver(self, message: dict) -> None:
        if message.get("lost") and not self.draining:
            self.draining = True
            if self.on_death is not None:
                self.on_death(self, drain=True)
        if "ready" in message:
            if not message["ready"]:
                self.death = f"the executor could not start: {message.get('error')}"
                self.dead = True
            self._ready_info = message
            self._ready.set()
            return
        with self._lock:
            slot = self._waiting.pop(message.get("id"), None)
        if slot is not None:
            slot[1] = message
            slot[0].set()

    def _die(self, reason: str) -> None:
        with self._lock:
            if self.dead:
                return
            self.dead = True
            stderr = self._stderr.decode("utf-8", "replace").strip()
            self.death = reason + (f"; executor stderr: {stderr[-2000:]}" if stderr else "")
            waiting, self._waiting = self._waiting, {}
        self._ready.set()
        for event, _ in waiting.values():
            event.set()
        if self.on_death is not None:
            self.on_death(self)

    def call(self, request: dict, timeout: float, patient: bool = True) -> dict:
        """Send one request and wait for its answer; `_InfraError` if the container fails.

        Past the deadline a `patient` call pings the executor: one that is merely slow (CPU starved
        by a neighbour's fork bomb, or queued behind a slot's cleanup) gets one more `timeout`; a
        container is retired only when it stops answering."""
        event = threading.Event()
        slot: list = [event, None]
        with self._lock:
            if self.dead:
                raise _InfraError(f"sandbox container is dead: {self.death}")
            request_id = next(self._ids)
            self._waiting[request_id] = slot
        data = (json.dumps({**request, "id": request_id}) + "\n").encode("utf-8", "surrogatepass")
        try:
            with self._send_lock:
                self._raw.sendall(data)
        except OSError as exc:
            self._die(f"send failed: {exc}")
        if not event.wait(timeout) and not (patient and self._answers_ping() and event.wait(timeout)):
            self._die(f"no answer from the executor within {timeout:.0f} s")
            self.kill()
        if slot[1] is None:
            raise _InfraError(f"sandbox container failed: {self.death}")
        if "error" in slot[1]:
            raise _InfraError(f"executor error: {slot[1]['error']}")
        return slot[1]

    def _answers_ping(self) -> bool:
        try:
            self.call({"op": "ping"}, 10.0, patient=False)
        except _InfraError:
            return False
        return True

    def kill(self) -> None:
        """Remove the container now (idempotent)."""
        self._die("removed by the pool")
        try:
            self.container.remove(force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def close(self) -> None:
        """Ask the executor to exit (stdin EOF), then make sure the container is gone. Its death is not
        reported to the pool: a closed container is never replaced (at interpreter exit a replacement
        would be created and never started, left behind)."""
        self.on_death = None
        try:
            self._raw.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.kill()


def _connect(engine: str | None) -> Any:
    try:
        import docker
    except ImportError as exc:
        raise SandboxError("the docker backend needs the Docker SDK: pip install 'r1ci[docker]'") from exc
    try:
        client = docker.DockerClient(base_url=engine) if engine else docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001
        where = engine or os.environ.get("DOCKER_HOST", "the default socket")
        raise SandboxError(
            f"cannot reach the Docker daemon at {where} ({exc}); start it "
            "(`dockerd --bridge=none --iptables=false`, see the README) or pass sandbox='local'"
        ) from exc
    return client


def sweep_stale(client: Any) -> int:
    """Remove r1ci sandbox containers on this host whose owner process no longer exists. Containers
    that other processes remove while the list is being read are skipped (`ignore_removed`)."""
    host = socket.gethostname()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
        owner = container.labels.get(OWNER_LABEL, "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            container.remove(force=True)
            removed += 1
        except Exception:  # noqa: BLE001 - removed concurrently
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DockerSandbox(Sandbox):
    """A pool of hardened containers spread over one or more Docker engines. Thread-safe."""

    backend = "docker"

    def __init__(self, config: PoolConfig | None = None, **options: Any) -> None:
        self.config = config or PoolConfig(**options)
        engines = list(self.config.engines or [None])
        self._clients = {engine or "default": _connect(engine) for engine in engines}
        for name, client in self._clients.items():
            self._check_image(name, client)
            sweep_stale(client)
        self._cond = threading.Condition()
        self._containers: list[_Container] = []
        self._starting = 0
        self._queue: collections.deque = collections.deque()  # callers waiting for a slot, in order
        self._closed = False
        self._last_error = ""
        self._engine_cycle = itertools.cycle(list(self._clients))
        self._finalizer = weakref.finalize(self, _close_all, self._containers)
        self.cold_start_seconds = self._start_all()

    def _check_image(self, engine: str, client: Any) -> None:
        import docker.errors

        try:
            client.images.get(self.config.image)
        except docker.errors.ImageNotFound:
            raise SandboxError(
                f"sandbox image {self.config.image!r} not found on engine {engine}: build it with `r1ci sandbox build`"
            ) from None
        except Exception as exc:  # noqa: BLE001
            raise SandboxError(f"cannot inspect image {self.config.image!r} on engine {engine}: {exc}") from exc

    def _start_all(self) -> float:
        started = time.monotonic()
        count = self.config.containers
        errors: list[Exception] = []
        threads = [threading.Thread(target=self._add_container, args=(errors,)) for _ in range(count)]
        with self._cond:
            self._starting += count
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors and not self._containers:
            self.close()
            raise SandboxError(f"no sandbox container could start: {errors[0]}")
        return time.monotonic() - started

    def _add_container(self, errors: list[Exception] | None = None) -> None:
        """Start one container (on the next engine) and add it to the pool; `_starting` was counted."""
        engine = next(self._engine_cycle)
        try:
            container = _Container(self._clients[engine], self.config, engine, on_death=self._replace)
        except Exception as exc:  # noqa: BLE001
            if errors is not None:
                errors.append(exc)
            with self._cond:
                self._last_error = str(exc)
                self._starting -= 1
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            if self._closed:
                container.close()
            else:
                self._containers.append(container)
            self._cond.notify_all()

    def _replace(self, container: _Container, drain: bool = False) -> None:
        """Retire a dead container and start a replacement in the background. A draining container
        (a slot out of service) finishes the work it has first: retired when its last run ends."""
        with self._cond:
            if container not in self._containers or (drain and container.in_use > 0):
                self._cond.notify_all()
                return
            self._containers.remove(container)
            self._cond.notify_all()
            if self._closed:
                return
            self._starting += 1
        threading.Thread(target=container.kill, daemon=True).start()
        threading.Thread(target=self._add_container, daemon=True).start()

    # -- slots

    def _acquire(self, wait: float) -> _Container:
        """A container with a free slot, handed to callers in arrival order (a caller that just
        released a slot queues behind those already waiting)."""
        deadline = time.monotonic() + wait
        ticket = object()
        with self._cond:
            if len(self._queue) >= self.config.max_waiting:
                raise SandboxError(f"sandbox overloaded: {len(self._queue)} callers already waiting for a slot")
            self._queue.append(ticket)
            try:
                while True:
                    if self._closed:
                        raise SandboxError("the sandbox pool is closed")
                    live = [c for c in self._containers if not c.dead and not c.draining and c.in_use < c.capacity]
                    if live and self._queue[0] is ticket:
                        chosen = min(live, key=lambda c: c.in_use / c.capacity)
                        chosen.in_use += 1
                        return chosen
                    if not self._containers and not self._starting:
                        raise SandboxError(
                            f"no sandbox container is running and none could be started: {self._last_error}"
                        )
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SandboxError(f"no sandbox slot became free within {wait:.0f} s")
                    self._cond.wait(min(remaining, 1.0))
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def _release(self, container: _Container) -> None:
        with self._cond:
            container.in_use -= 1
            self._cond.notify_all()
            retire = container.draining and container.in_use == 0
        if retire:
            self._replace(container)

    # -- public

    @property
    def total_slots(self) -> int:
        return sum(c.capacity for c in self._containers)

    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        request = {"op": "run", "code": code, "timeout": timeout, "max_output": self.config.max_output_bytes}
        failure = ""
        attempts = 1 + self.config.retries
        for _attempt in range(attempts):
            container = self._acquire(wait=max(120.0, 4 * timeout))
            try:
                reply = container.call(request, timeout + _GRACE)
            except _InfraError as exc:
                failure = str(exc)
                continue
            finally:
                self._release(container)
            return _result(reply)
        raise SandboxError(f"sandbox run failed {attempts} time(s) (infrastructure, not the program): {failure}")

    def session(self) -> DockerSession:
        """A stateful interpreter holding one slot until closed (see `SandboxSession`)."""
        container = self._acquire(wait=120.0)
        try:
            reply = container.call({"op": "open"}, 60.0)
        except _InfraError as exc:
            self._release(container)
            raise SandboxError(f"could not open a sandbox session: {exc}") from exc
        return DockerSession(self, container, reply["session"])

    def ping(self) -> list[dict]:
        """Health-check every container; dead ones are replaced. Returns the live executors' stats."""
        stats = []
        for container in list(self._containers):
            try:
                stats.append({"engine": container.engine, **container.call({"op": "ping"}, 10.0)})
            except _InfraError:
                pass  # the container retired itself and a replacement is starting
        return stats

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        _close_all(self._containers)


class DockerSession(SandboxSession):
    """A session on one container slot. Not thread-safe: one call at a time, like one episode."""

    def __init__(self, pool: DockerSandbox, container: _Container, sid: int) -> None:
        self._pool = pool
        self._container: _Container | None = container
        self._sid = sid

    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        if self._container is None:
            raise SandboxError("the sandbox session is closed")
        request = {
            "op": "cell",
            "session": self._sid,
            "code": code,
            "timeout": timeout,
            "max_output": self._pool.config.max_output_bytes,
        }
        try:
            return _result(self._container.call(request, timeout + _GRACE))
        except _InfraError as exc:
            self._release()
            raise SandboxError(f"sandbox session lost (infrastructure, not the program): {exc}") from exc

    def close(self) -> None:
        container = self._container
        if container is None:
            return
        try:
            container.call({"op": "close", "session": self._sid}, 30.0)
        except _InfraError:
            pass  # the container is gone, and the session with it
        self._release()

    def _release(self) -> None:
        if self._container is not None:
            self._pool._release(self._container)
            self._container = None


def _result(reply: dict) -> ExecResult:
    stderr = reply["stderr"] + (RESET_NOTE if reply.get("reset") else "")
    return ExecResult(
        stdout=reply["stdout"],
        stderr=stderr,
        exit_code=reply["exit_code"],
        timed_out=reply["timed_out"],
        duration=reply["duration"],
        truncated=reply["truncated"],
    )


def _close_all(containers: list[_Container]) -> None:
    threads = [threading.Thread(target=c.close) for c in list(containers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    containers.clear()
