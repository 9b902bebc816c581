"""The executor that runs inside every sandbox container (standard library only).

The pool starts each container as `python3 -I -c <this file's source> <config json>`, so any image
with a python3 works. The executor talks JSON lines over its stdin/stdout (the container's attach
stream) and runs each program in a freshly forked child:

* the main process preloads heavy modules once (numpy, sympy, ...) and never runs user code;
* a small "cleaner" process, forked before those imports, forks a helper per cleanup that SIGKILLs
  everything the slot's uid owns (also `setsid()` escapees) and removes its SysV IPC objects (as that
  uid), then deletes its files anywhere in the slot's scratch tmpfs, /tmp, /dev/shm and /dev/mqueue
  (as root with CAP_DAC_OVERRIDE and CAP_FOWNER, so files cannot hide in other slots' directories);
* each concurrent run gets a slot: its own uid (never the executor's), its own scratch tmpfs, rlimits,
  a cleared environment, stdin from /dev/null, output to memfds read back head + tail, reseeded RNGs.

Requests:  {"op": "run", "id": 1, "code": "...", "timeout": 10.0, "max_output": 65536}
           {"op": "ping", "id": 2}
Responses: {"id": 1, "stdout": ..., "stderr": ..., "exit_code": 0, "timed_out": false,
            "truncated": false, "duration": 0.004}
           {"id": 2, "pong": true, "rss_kb": ..., "runs": ..., "busy": ...}
           {"id": 3, "error": "..."} for a request the executor could not serve (an infrastructure
           error on the host side, never program output).
"""
from __future__ import annotations

import errno
import json
import os
import signal
import stat
import sys
import time

RUN_FILENAME = "main.py"
OMITTED = "\n[... {} bytes omitted ...]\n"


def read_head_tail(fd: int, cap: int) -> tuple[str, bool]:
    """Decode at most `cap` bytes of the file behind `fd`: all of it if it fits, else its head and
    tail around an omission marker. Returns (text, truncated)."""
    size = os.fstat(fd).st_size
    if size <= cap:
        data = os.pread(fd, size, 0)
        return data.decode("utf-8", "replace"), False
    half = cap // 2
    head = os.pread(fd, half, 0)
    tail = os.pread(fd, half, size - half)
    text = head.decode("utf-8", "replace") + OMITTED.format(size - 2 * half) + tail.decode("utf-8", "replace")
    return text, True


# --------------------------------------------------------------------------------------------
# Everything below runs only inside the container.


class Config:
    """Executor settings, from the JSON the pool passes as argv[1]."""

    def __init__(self, raw: dict) -> None:
        self.slots = int(raw.get("slots", 4))
        self.uid_base = int(raw["uid_base"])
        self.scratch_root = raw.get("scratch_root", "/sandbox")
        self.preload = list(raw.get("preload", ["numpy", "sympy"]))
        self.memory_bytes = int(raw.get("memory_mb", 1024)) * 1024 * 1024
        self.max_file_bytes = int(raw.get("max_file_bytes", 16 * 1024 * 1024))
        self.nproc = int(raw.get("nproc", 64))
        self.nofile = int(raw.get("nofile", 256))
        self.session_cpu_seconds = int(raw.get("session_cpu_seconds", 600))

    def uid(self, slot: int) -> int:
        return self.uid_base + slot

    def scratch(self, slot: int) -> str:
        return f"{self.scratch_root}/{slot}"


# ---- cleaner: a small process that kills and cleans a slot's uid on request ----------------


def _kill_uid_processes() -> None:
    """SIGKILL every process of our (already switched) uid until none is alive. kill(-1) skips us."""
    me = os.getpid()
    uid = os.getuid()
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        if not _live_processes(uid, me):
            return
        time.sleep(0.001)


def _live_processes(uid: int, me: int) -> bool:
    """True if a non-zombie process of `uid` other than `me` exists."""
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                status = fh.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid and not fields.get("State", "").strip().startswith(("Z", "X")):
            return True
    return False


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(parent: int, name: str) -> int:
    return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _remove_tree(parent: int, name: str) -> None:
    """Delete entry `name` of the directory open as `parent`, and all below it.

    Iterative and relative to directory descriptors: a run can nest directories thousands deep
    (recursion limit) and far past PATH_MAX (ENAMETOOLONG). Never follows symbolic links, also when
    a live run of another slot swaps an entry for one while we work.
    """
    fd = _open_subdir(parent, name)
    if fd is None:
        return
    stack = [(parent, name, fd)]
    rescans = 0
    while stack:
        fd = stack[-1][2]
        sub = None
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    sub = entry.name
                    break
                _unlink(fd, entry.name)
        if sub is not None:
            child_fd = _open_subdir(fd, sub)
            if child_fd is not None:
                stack.append((fd, sub, child_fd))
            continue
        up, child, fd = stack.pop()
        os.close(fd)
        try:
            os.rmdir(child, dir_fd=up)
        except FileNotFoundError:
            pass
        except OSError as exc:  # a live run of another slot wrote into it meanwhile: scan it again
            if exc.errno != errno.ENOTEMPTY or rescans > 100:
                raise
            rescans += 1
            child_fd = _open_subdir(up, child)
            if child_fd is not None:
                stack.append((up, child, child_fd))


def _open_subdir(parent: int, name: str) -> int | None:
    """Open `name` as a directory; if it is anything else (a file, a link), delete it: None."""
    try:
        return _open_dir(parent, name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
            raise
    _unlink(parent, name)
    return None


def _unlink(parent: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=parent)
    except FileNotFoundError:
        pass


def _sweep(top: str, uid: int, *, everything: bool) -> None:
    """Delete what `uid` owns anywhere under `top` (everything under it when `everything`).

    Runs as root with CAP_DAC_OVERRIDE and CAP_FOWNER, so entries cannot hide inside directories
    of other slots (a run may create its files inside another run's world-writable directory).
    """
    try:
        top_fd = os.open(top, _DIR_FLAGS)
    except OSError:
        return
    pending = [top_fd]
    try:
        while pending:
            fd = pending.pop()
            try:
                with os.scandir(fd) as entries:
                    names = [entry.name for entry in entries]
                for name in names:
                    try:
                        st = os.lstat(name, dir_fd=fd)
                    except FileNotFoundError:
                        continue
                    if everything or st.st_uid == uid:
                        _remove_tree(fd, name)
                    elif stat.S_ISDIR(st.st_mode):
                        try:
                            pending.append(_open_dir(fd, name))
                        except OSError:
                            pass  # gone, or swapped for a link: not ours to follow
            finally:
                if fd != top_fd:
                    os.close(fd)
    finally:
        for fd in pending:
            os.close(fd)
        os.close(top_fd)


_SYSV_KINDS = (("shm", "shmid"), ("sem", "semid"), ("msg", "msqid"))


def _sysv_objects(uid: int) -> list[tuple[str, int]]:
    """SysV shared memory segments, semaphore sets and message queues that `uid` owns or created
    (IPC_SET lets an owner hand an object to another uid; the creator can still remove it)."""
    found = []
    for kind, key in _SYSV_KINDS:
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            if uid in (int(row.get("uid", -1)), int(row.get("cuid", -1))):
                found.append((kind, int(row[key])))
    return found


def _remove_sysv_ipc(libc, objects: list[tuple[str, int]]) -> None:
    ipc_rmid = 0
    for kind, ident in objects:
        if kind == "shm":
            libc.shmctl(ident, ipc_rmid, None)
        elif kind == "sem":
            libc.semctl(ident, 0, ipc_rmid)
        else:
            libc.msgctl(ident, ipc_rmid, None)


def _clean_slot(config: Config, libc, slot: int) -> None:
    """Kill the slot uid's processes and remove its IPC objects (in a helper switched to that uid,
    forked only when there is any), then delete its files in the slot's scratch tmpfs, /tmp,
    /dev/shm and /dev/mqueue (here, as root with CAP_DAC_OVERRIDE and CAP_FOWNER).

    No live process of the uid means none can appear: only that uid's processes could create more."""
    uid = config.uid(slot)
    objects = _sysv_objects(uid)
    if objects or _live_processes(uid, os.getpid()):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                _kill_uid_processes()
                _remove_sysv_ipc(libc, _sysv_objects(uid))
            except BaseException:  # noqa: BLE001 - reported through the exit status
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise RuntimeError(f"could not kill the processes of slot {slot}")
    _sweep(config.scratch(slot), uid, everything=True)
    for shared in ("/tmp", "/dev/shm", "/dev/mqueue"):
        _sweep(shared, uid, everything=False)


def cleaner_main(config: Config, requests: int, replies: int) -> None:
    """Serve "<slot>\\n" requests: clean that slot, then reply "<slot> <status>\\n" (0: clean)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    with os.fdopen(requests, "r") as inbox, os.fdopen(replies, "w", buffering=1) as outbox:
        for line in inbox:
            slot = int(line)
            try:
                _clean_slot(config, libc, slot)
                status = 0
            except Exception:  # noqa: BLE001 - the executor treats a failed cleanup as fatal
                status = 1
            outbox.write(f"{slot} {status}\n")
    os._exit(0)


# ---- the run child ----------------------------------------------------------------------------


def _become_program(config: Config, slot: int, out_fd: int, err_fd: int, cpu_seconds: int, keep: int = -1) -> None:
    """In a freshly forked child: drop to the slot's uid with its limits, environment and scratch
    directory, stdout/stderr on the given fds, every other descriptor closed (but `keep`, moved to 3)."""
    os.setsid()
    os.nice(19)  # programs yield the CPU to the executor, so a fork bomb cannot starve its answers
    signal.set_wakeup_fd(-1)  # the executor's: a program starts with default signal handling
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    if keep >= 0:
        os.dup2(keep, 3)
    os.closerange(3 if keep < 0 else 4, 65536)
    os.umask(0o077)
    uid = config.uid(slot)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    scratch = config.scratch(slot)
    os.chdir(scratch)
    set_limits(config.memory_bytes, cpu_seconds, config.max_file_bytes, config.nofile, config.nproc)
    os.environ.clear()
    os.environ.update(_program_environment(scratch))
    _reseed()
    sys.argv = [RUN_FILENAME]
    sys.path.insert(0, scratch)


def _child(config: Config, slot: int, code: str, out_fd: int, err_fd: int, timeout: float) -> None:
    """Become the slot's unprivileged program and run `code` as __main__. Never returns."""
    rc = 1
    try:
        _become_program(config, slot, out_fd, err_fd, int(timeout) + 2)
        rc = _shutdown(_execute(code, RUN_FILENAME, _fresh_main_module()))
    except BaseException:  # noqa: BLE001 - the set-up itself failed; report it on stderr
        _print_exception()
    os._exit(rc)


def _session_worker(config: Config, slot: int, channel: int) -> None:
    """Become the slot's unprivileged program and run cells sent over `channel` in one namespace.

    Each cell arrives as three descriptors (code, stdout, stderr memfds) and is answered with
    `{"status": N}`. The worker never exits on its own; the executor kills it to end the session."""
    import socket

    try:
        devnull = os.open("/dev/null", os.O_WRONLY)
        _become_program(config, slot, devnull, devnull, config.session_cpu_seconds, keep=channel)
        sock = socket.socket(fileno=3)
        namespace = _fresh_main_module()
        for number in range(1, 1 << 30):
            _, fds, _, _ = socket.recv_fds(sock, 16, 3)
            if len(fds) != 3:
                break
            code_fd, out_fd, err_fd = fds
            code = os.pread(code_fd, os.fstat(code_fd).st_size, 0).decode("utf-8", "surrogateescape")
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            for fd in fds:
                os.close(fd)
            status = _execute(code, f"cell{number}.py", namespace)
            status = _flush(status)
            sock.sendall(json.dumps({"status": status}).encode() + b"\n")
    except BaseException:  # noqa: BLE001
        _print_exception()
    os._exit(1)


def _print_exception() -> None:
    try:
        import traceback

        traceback.print_exc()
    except BaseException:  # noqa: BLE001
        pass


def set_limits(memory: int, cpu_seconds: int, file_bytes: int, nofile: int, nproc: int | None) -> None:
    """Apply the per-run rlimits to this process (`nproc` None: leave the process count alone)."""
    import resource

    limits = {"RLIMIT_AS": memory, "RLIMIT_CPU": cpu_seconds, "RLIMIT_FSIZE": file_bytes,
              "RLIMIT_NOFILE": nofile, "RLIMIT_CORE": 0}
    if nproc is not None:
        limits["RLIMIT_NPROC"] = nproc
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def run_stdin_main(memory: int, cpu_seconds: int, file_bytes: int) -> None:
    """Entry point of the local backend: limit this process, run the program read from stdin as
    __main__ and exit with its status."""
    set_limits(memory, cpu_seconds, file_bytes, 256, None)
    code = sys.stdin.read()
    sys.stdin.close()
    sys.argv = [RUN_FILENAME]
    os._exit(_shutdown(_execute(code, RUN_FILENAME, _fresh_main_module())))


def _program_environment(scratch: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MALLOC_ARENA_MAX": "2",
    }


def _reseed() -> None:
    """Forked children share the zygote's RNG state; give each run fresh entropy like a new process."""
    import random

    random.seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def _fresh_main_module() -> dict:
    """A new, empty `__main__` module installed in sys.modules (so that pickle, and with it
    multiprocessing, finds functions the program defines); returns its namespace."""
    import types

    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    return module.__dict__


def _execute(code: str, filename: str, namespace: dict) -> int:
    """Run `code` as `__main__` in `namespace` (kept between session cells) the way the interpreter
    runs a script: tracebacks without our frames, SystemExit as a status. Returns the status."""
    import builtins
    import linecache
    import traceback

    namespace.update({"__name__": "__main__", "__builtins__": builtins, "__file__": filename})
    try:
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        exec(compile(code, filename, "exec"), namespace)
    except SystemExit as exc:
        return _exit_status(exc)
    except SyntaxError as exc:
        traceback.print_exception(type(exc), exc, None)
        return 1
    except BaseException as exc:  # noqa: BLE001 - report it the way the interpreter would
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        return 1
    return 0


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _shutdown(status: int) -> int:
    """Join non-daemon threads, run atexit handlers and flush output, as interpreter exit does."""
    import atexit

    threading = sys.modules.get("threading")
    try:
        if threading is not None:
            threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    return _flush(status)


def _flush(status: int) -> int:
    """Flush stdout and stderr; a failure (e.g. the program closed stdout) gives status 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - e.g. the program closed stdout
            status = status or 120
    return status


# ---- the main loop -----------------------------------------------------------------------------


class Run:
    """One program, or one session cell, in flight."""

    def __init__(self, request: dict, slot: int, pid: int, out_fd: int, err_fd: int) -> None:
        self.request = request
        self.slot = slot
        self.pid = pid
        self.out_fd = out_fd
        self.err_fd = err_fd
        self.started = time.monotonic()
        self.deadline = self.started + float(request.get("timeout", 10.0))
        self.status: int | None = None
        self.timed_out = False
        self.finished = 0.0


class Session:
    """A slot held by one episode: a worker process that keeps its namespace between cells."""

    def __init__(self, sid: int, slot: int) -> None:
        self.sid = sid
        self.slot = slot
        self.pid: int | None = None
        self.sock = None
        self.replies = b""
        self.run: Run | None = None  # the cell in flight
        self.queued: list[dict] = []  # cells waiting for the worker
        self.cleaning = False
        self.closing: dict | None = None


class Executor:
    """Accepts requests, forks runs (or session workers) into free slots, enforces deadlines, answers,
    and has every slot cleaned by the cleaner before it is used again."""

    def __init__(self, config: Config, ctl_in: int, ctl_out: int, clean_tx: int, clean_rx: int) -> None:
        import selectors

        self.config = config
        self.ctl_in = ctl_in
        self.ctl_out = os.fdopen(ctl_out, "w", buffering=1, encoding="utf-8", errors="surrogateescape")
        self.clean_tx = clean_tx
        self.clean_rx = clean_rx
        self.cleanbuf = b""
        self.free = list(range(config.slots))
        self.pending: list[dict] = []  # runs and session opens waiting for a free slot
        self.children: dict[int, Run | Session] = {}  # pid -> what it runs
        self.owners: dict[int, Run | Session] = {}  # busy slot -> its run or session
        self.sessions: dict[int, Session] = {}
        self.next_sid = 1
        self.completed = 0
        self.inbuf = b""
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector = selectors.DefaultSelector()
        self.selector.register(ctl_in, selectors.EVENT_READ, self._on_request_bytes)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._on_wakeup)
        self.selector.register(self.clean_rx, selectors.EVENT_READ, self._on_cleaned)
        self.running = True

    def serve(self) -> None:
        while self.running:
            deadlines = [run.deadline for run in self._in_flight() if not run.timed_out]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in self.selector.select(timeout):
                key.data()
            self._reap()
            self._enforce_deadlines()

    def _in_flight(self) -> list[Run]:
        runs = [child for child in self.children.values() if isinstance(child, Run)]
        return runs + [session.run for session in self.sessions.values() if session.run is not None]

    # -- input

    def _on_request_bytes(self) -> None:
        data = os.read(self.ctl_in, 1 << 20)
        if not data:  # the host went away: stop everything and exit
            self.running = False
            return
        self.inbuf += data
        *lines, self.inbuf = self.inbuf.split(b"\n")
        for line in lines:
            if line.strip():
                self._handle(line)

    def _handle(self, line: bytes) -> None:
        try:
            request = json.loads(line)
        except ValueError as exc:
            self._reply({"id": None, "error": f"bad request: {exc}"})
            return
        op = request.get("op")
        if op in ("run", "open"):
            self.pending.append(request)
            self._start_pending()
        elif op in ("cell", "close"):
            session = self.sessions.get(request.get("session"))
            if session is None or session.closing is not None:
                self._reply({"id": request.get("id"), "error": "no such session"})
            elif op == "close":
                session.closing = request
                if not session.cleaning:
                    self._request_clean(session)
            elif session.run is not None or session.queued:
                self._reply({"id": request.get("id"), "error": "the session is busy with another cell"})
            else:
                session.queued.append(request)
                self._advance(session)
        elif op == "ping":
            self._reply({"id": request.get("id"), "pong": True, "rss_kb": _rss_kb(), "runs": self.completed,
                         "busy": len(self.owners), "sessions": len(self.sessions)})
        else:
            self._reply({"id": request.get("id"), "error": f"unknown op {op!r}"})

    def _on_wakeup(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    # -- runs and sessions

    def _start_pending(self) -> None:
        while self.pending and self.free:
            request = self.pending.pop(0)
            slot = self.free.pop()
            if request["op"] == "open":
                session = Session(self.next_sid, slot)
                self.next_sid += 1
                self.sessions[session.sid] = session
                self.owners[slot] = session
                self._start_worker(session)
                self._reply({"id": request.get("id"), "session": session.sid})
                continue
            out_fd = os.memfd_create("stdout", 0)
            err_fd = os.memfd_create("stderr", 0)
            timeout = float(request.get("timeout", 10.0))
            pid = os.fork()
            if pid == 0:
                _child(self.config, slot, request.get("code", ""), out_fd, err_fd, timeout)
            run = Run(request, slot, pid, out_fd, err_fd)
            self.children[pid] = run
            self.owners[slot] = run

    def _start_worker(self, session: Session) -> None:
        import selectors
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            _session_worker(self.config, session.slot, theirs.fileno())
        theirs.close()
        ours.setblocking(False)
        session.pid, session.sock, session.replies = pid, ours, b""
        self.children[pid] = session
        self.selector.register(ours, selectors.EVENT_READ, lambda: self._on_worker_reply(session))

    def _advance(self, session: Session) -> None:
        """Send the next queued cell to the session's worker (starting a fresh worker if needed)."""
        if session.cleaning or session.run is not None or not session.queued:
            return
        import socket

        if session.pid is None:
            self._start_worker(session)
        request = session.queued.pop(0)
        code_fd = os.memfd_create("code", 0)
        os.write(code_fd, request.get("code", "").encode("utf-8", "surrogateescape"))
        out_fd = os.memfd_create("stdout", 0)
        err_fd = os.memfd_create("stderr", 0)
        session.run = Run(request, session.slot, session.pid, out_fd, err_fd)
        try:
            socket.send_fds(session.sock, [b"c"], [code_fd, out_fd, err_fd])
        except OSError:  # the worker is gone or wedged: end it; the cell reports a reset
            session.run.status = -signal.SIGKILL
            session.run.finished = time.monotonic()
            self._request_clean(session)
        finally:
            os.close(code_fd)

    def _on_worker_reply(self, session: Session) -> None:
        try:
            data = session.sock.recv(4096)
        except BlockingIOError:
            return
        if not data:  # the worker is exiting; the reaper handles it
            self._drop_worker_channel(session)
            return
        session.replies += data
        *lines, session.replies = session.replies.split(b"\n")
        for line in lines:
            run = session.run
            if run is None or run.timed_out:
                continue
            try:
                run.status = int(json.loads(line)["status"])
            except (ValueError, KeyError, TypeError):
                run.status = 1
            run.finished = time.monotonic()
            session.run = None
            self._respond(run)
            self._advance(session)

    def _drop_worker_channel(self, session: Session) -> None:
        if session.sock is not None:
            self.selector.unregister(session.sock)
            session.sock.close()
            session.sock = None

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:  # an orphan we adopted as subreaper
                continue
            code = os.waitstatus_to_exitcode(status)
            if isinstance(child, Session):
                self._worker_exited(child, code)
                continue
            child.status = code
            if not child.timed_out:
                # Answer at once: the output is complete. The slot stays busy until it is clean.
                child.finished = time.monotonic()
                self._respond(child)
                self._request_clean(child)

    def _worker_exited(self, session: Session, code: int) -> None:
        """A session worker died (the program exited, crashed or was killed): answer the cell in
        flight, and clean the slot; the next cell starts a fresh worker."""
        session.pid = None
        self._drop_worker_channel(session)
        run = session.run
        if run is not None and not run.timed_out:
            run.status = code
            run.finished = time.monotonic()
            session.run = None
            self._respond(run, reset=True)
        if not session.cleaning:
            self._request_clean(session)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for run in self._in_flight():
            if not run.timed_out and now >= run.deadline:
                run.timed_out = True
                run.finished = now
                self._request_clean(self.owners[run.slot])

    def _request_clean(self, owner: Run | Session) -> None:
        """Ask the cleaner to kill everything of the slot's uid and delete its files."""
        if isinstance(owner, Session):
            if owner.cleaning:
                return
            owner.cleaning = True
        os.write(self.clean_tx, f"{owner.slot}\n".encode())

    def _on_cleaned(self) -> None:
        data = os.read(self.clean_rx, 4096)
        if not data:
            raise SystemExit("cleaner exited")
        self.cleanbuf += data
        *lines, self.cleanbuf = self.cleanbuf.split(b"\n")
        for line in lines:
            slot_text, code = line.split()
            if int(code) != 0:
                raise SystemExit(f"cleanup of slot {slot_text} failed")
            self._cleaned(int(slot_text))

    def _collect(self, pid: int | None) -> None:
        """Wait for a child that the cleaner has just killed, unless the reaper already did."""
        if pid is not None and self.children.pop(pid, None) is not None:
            os.waitpid(pid, 0)

    def _cleaned(self, slot: int) -> None:
        owner = self.owners[slot]
        if isinstance(owner, Run):
            if owner.timed_out:  # everything of the slot's uid is dead now: collect it, then answer
                self._collect(owner.pid)
                self._respond(owner)
            self._free(slot)
            return
        session = owner
        self._collect(session.pid)
        session.pid = None
        self._drop_worker_channel(session)
        session.cleaning = False
        if session.run is not None:  # timed out, or the worker would not take the cell
            run, session.run = session.run, None
            self._respond(run, reset=True)
        if session.closing is not None:
            del self.sessions[session.sid]
            self._reply({"id": session.closing.get("id"), "closed": True})
            self._free(slot)
        else:
            self._advance(session)

    def _free(self, slot: int) -> None:
        del self.owners[slot]
        self.free.append(slot)
        self._start_pending()

    def _respond(self, run: Run, reset: bool = False) -> None:
        cap = int(run.request.get("max_output", 65536))
        stdout, cut_out = read_head_tail(run.out_fd, cap)
        stderr, cut_err = read_head_tail(run.err_fd, cap)
        os.close(run.out_fd)
        os.close(run.err_fd)
        self.completed += 1
        reply = {
            "id": run.request.get("id"),
            "stdout": stdout,
            "stderr": stderr,
            "exit_code": -signal.SIGKILL if run.timed_out else run.status,
            "timed_out": run.timed_out,
            "truncated": cut_out or cut_err,
            "duration": round(run.finished - run.started, 6),
        }
        if reset:
            reply["reset"] = True
        self._reply(reply)

    def _reply(self, message: dict) -> None:
        self.ctl_out.write(json.dumps(message) + "\n")


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _become_subreaper() -> None:
    """Adopt orphaned grandchildren so that they are reaped here, not left as zombies. Also cap
    malloc's per-thread arenas (inherited by every run): 64 MiB of address space per thread would
    otherwise let the address-space limit stop ordinary thread pools at a dozen threads."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    libc.mallopt(-8, 2)  # M_ARENA_MAX


def main() -> None:
    config = Config(json.loads(sys.argv[1]))
    ctl_in, ctl_out = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    _become_subreaper()
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    if os.fork() == 0:  # the cleaner, forked while this process is still small
        for fd in (req_w, rep_r, ctl_in, ctl_out):
            os.close(fd)
        cleaner_main(config, req_r, rep_w)
    os.close(req_r)
    os.close(rep_w)
    for name, value in _program_environment("/tmp").items():
        if name.endswith("_THREADS"):
            os.environ[name] = value
    import atexit, builtins, linecache, resource, traceback  # noqa: E401,F401 - needed by every run
    loaded = []
    for module in [*config.preload, *(["numpy.random"] if "numpy" in config.preload else [])]:
        try:
            __import__(module)
            loaded.append(module)
        except Exception:  # noqa: BLE001 - a missing optional module only means slower runs
            pass
    executor = Executor(config, ctl_in, ctl_out, req_w, rep_r)
    executor._reply({"id": None, "ready": True, "slots": config.slots, "preloaded": loaded,
                     "python": sys.version.split()[0]})
    executor.serve()


if __name__ == "__main__":
    if sys.argv[1] == "--stdin":
        run_stdin_main(*map(int, sys.argv[2:5]))
    main()
