"""The executor that runs inside every sandbox container (standard library only).

The pool starts each container as `python3 -I -c <this file's source> <config json>`, so any image
with a python3 works. Processes, from the top (docs/sandbox.md has the threat model):

* the executor (root, never imports numpy/sympy, never forks a run): JSON lines with the host over
  its stdin/stdout, one socket per slot to that slot's keeper, deadlines, output read back from memfds;
* a template, forked at start before any request is read: it preloads numpy/sympy, creates one keeper
  per slot, writes the keeper's uid/gid maps, and exits;
* one keeper per slot, in its own user and mount namespaces (root there, an unused uid outside).
  Before every run (or session) it enters new network and IPC namespaces and mounts fresh tmpfs
  instances on the slot's scratch directory, /tmp and /dev/shm. It forks the run, the child reading
  its own code after the fork; it never reads code, output or stdin; the run's exit status only ever
  lands in one ctypes buffer that is sent on and zeroed. After the run's leader exits (or at a
  timeout) it SIGKILLs everything in its user namespace with kill(-1) and reaps until it has no
  child left: as the subreaper of every process of the slot, "no child" means "nothing of the slot
  is alive", whatever state a process was in;
* the run: setsid, nice 19, oom_score_adj 1000, the slot's uid (no capabilities), rlimits, a cleared
  environment, stdin /dev/null, stdout/stderr to memfds, reseeded RNGs, and a seccomp filter that
  denies namespaces, mounts, io_uring, SysV IPC, POSIX message queues, ptrace and keyrings.

Requests:  {"op": "run", "id": 1, "code": "...", "timeout": 10.0, "max_output": 65536}
           {"op": "open", "id": 2} / {"op": "cell", "id": 3, "session": 1, "code": ..., "timeout": ...}
           {"op": "close", "id": 4, "session": 1} / {"op": "ping", "id": 5}
Responses: {"id": 1, "stdout": ..., "stderr": ..., "exit_code": 0, "timed_out": false,
            "truncated": false, "duration": 0.004}  (cells may add "reset": true)
           {"id": 5, "pong": true, "rss_kb": ..., "runs": ..., "busy": ..., "lost": ...}
           {"id": 3, "error": "..."} for a request the executor could not serve (an infrastructure
           error, never program output). Every message carries "lost": the slots out of service.
"""

from __future__ import annotations

import json
import os
import signal
import struct
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
        self.scratch_mb = int(raw.get("scratch_mb", 64))
        self.tmp_mb = int(raw.get("tmp_mb", 16))
        self.inodes = int(raw.get("inodes", 4096))
        self.ptys = int(raw.get("ptys", 8))

    def uid(self, slot: int) -> int:
        """The slot's program uid (the same number inside and outside its user namespace)."""
        return self.uid_base + slot

    def keeper_uid(self, slot: int) -> int:
        """The uid outside the container's user namespace that the slot's keeper (root inside) maps to."""
        return self.uid_base + 32 + slot

    def scratch(self, slot: int) -> str:
        return f"{self.scratch_root}/{slot}"

    def fresh_mounts(self, slot: int) -> list[tuple[str, str]]:
        """(mount point, tmpfs options) remounted for every run or session of `slot`."""
        uid = self.uid(slot)
        size = f"nr_inodes={self.inodes},uid={uid},gid={uid}"
        return [
            (self.scratch(slot), f"size={self.scratch_mb}m,mode=0700,{size}"),
            ("/tmp", f"size={self.tmp_mb}m,mode=0700,{size}"),
            ("/dev/shm", f"size={self.tmp_mb}m,mode=0700,{size}"),
        ]


# ---- kernel interfaces (ctypes) -----------------------------------------------------------------

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x08000000, 0x10000000, 0x40000000
CLONE_NAMESPACES = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 0x4000, 1 << 18
MNT_DETACH = 2
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER = 4, 24, 38, 22, 36
SECCOMP_MODE_FILTER = 2


class Kernel:
    """The few system calls the standard library does not wrap; each raises OSError on failure."""

    def __init__(self) -> None:
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)

    def _check(self, rc: int, what: str) -> int:
        if rc < 0:
            err = self.ctypes.get_errno()
            raise OSError(err, f"{what}: {os.strerror(err)}")
        return rc

    def unshare(self, flags: int) -> None:
        self._check(self.libc.unshare(flags), "unshare")

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
        enc = lambda s: None if s is None else s.encode()
        self._check(self.libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")

    def umount(self, target: str) -> None:
        self._check(self.libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")

    def prctl(self, option: int, arg: int = 0) -> None:
        self._check(self.libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


# ---- the run filter (seccomp BPF, x86_64) -------------------------------------------------------

AUDIT_ARCH_X86_64 = 0xC000003E
# System calls a program never gets (EPERM), by x86_64 number: namespaces and mounts (unshare, setns,
# mount, umount2, pivot_root, chroot, the new mount API), io_uring, SysV IPC (shm, sem, msg) and POSIX
# message queues (shared memory charged to no process, and names shared across runs), ptrace and
# process_vm_*, kcmp, keyrings, bpf, userfaultfd, perf_event_open.
DENIED_SYSCALLS = (
    272,
    308,
    165,
    166,
    155,
    161,
    428,
    429,
    430,
    431,
    432,
    433,
    442,  # namespaces and mounts
    425,
    426,
    427,  # io_uring
    29,
    30,
    31,
    67,
    64,
    65,
    66,
    220,
    68,
    69,
    70,
    71,  # SysV shm, sem, msg
    240,
    241,
    242,
    243,
    244,
    245,  # POSIX message queues
    101,
    310,
    311,
    312,  # ptrace, process_vm_readv/writev, kcmp
    248,
    249,
    250,
    321,
    323,
    298,  # add_key, request_key, keyctl, bpf, userfaultfd, perf_event_open
)
SYS_CLONE, SYS_CLONE3 = 56, 435


def run_filter_program() -> bytes:
    """The BPF program of the run filter: the denied calls and clone() with namespace flags fail with
    EPERM, clone3 with ENOSYS (its flags sit behind a pointer; libc then falls back to clone), any
    other architecture or the x32 ABI kills the process, everything else is allowed."""
    ld_arch, ld_nr, ld_arg0 = (0x20, 0, 0, 4), (0x20, 0, 0, 0), (0x20, 0, 0, 16)
    allow, eperm, enosys, kill = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38, 0x80000000
    n = len(DENIED_SYSCALLS)
    # Layout: 0 ld arch, 1 jeq arch, 2 ld nr, 3 jge x32, 4..4+n-1 jeq denied, then clone3, clone,
    # ld arg0, jset namespaces, ret allow, ret eperm, ret enosys, ret kill.
    base = 4 + n
    ret_allow, ret_eperm, ret_enosys, ret_kill = base + 4, base + 5, base + 6, base + 7
    prog = [ld_arch, (0x15, 0, ret_kill - 2, AUDIT_ARCH_X86_64), ld_nr, (0x35, ret_kill - 4, 0, 0x40000000)]
    for i, nr in enumerate(DENIED_SYSCALLS):
        prog.append((0x15, ret_eperm - (4 + i) - 1, 0, nr))
    prog.append((0x15, ret_enosys - base - 1, 0, SYS_CLONE3))
    prog.append((0x15, 0, ret_allow - base - 2, SYS_CLONE))
    prog.append(ld_arg0)
    prog.append((0x45, ret_eperm - base - 4, 0, CLONE_NAMESPACES))
    prog += [(0x06, 0, 0, allow), (0x06, 0, 0, eperm), (0x06, 0, 0, enosys), (0x06, 0, 0, kill)]
    return b"".join(struct.pack("HBBI", *ins) for ins in prog)


def install_run_filter(kernel: Kernel) -> None:
    """Install the run filter in this process (inherited by all its children, never removable)."""
    ctypes = kernel.ctypes
    code = run_filter_program()
    buffer = ctypes.create_string_buffer(code, len(code))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(len(code) // 8, ctypes.addressof(buffer))
    kernel.prctl(PR_SET_NO_NEW_PRIVS, 1)
    kernel._check(kernel.libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


# ---- the program side: a run or a session worker, forked from its slot's keeper -----------------


class Preloaded:
    """What the template learned while preloading: the RNG objects every run must reseed."""

    randoms: list = []


def _place_fds(out_fd: int, err_fd: int, extra: list[int]) -> None:
    """stdin /dev/null, stdout/stderr to the given fds, `extra` moved to 3, 4, ...; all else closed."""
    import fcntl

    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (out_fd, err_fd, *extra)]
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(high[0], 1)
    os.dup2(high[1], 2)
    for number, fd in enumerate(high[2:], start=3):
        os.dup2(fd, number)
    os.closerange(3 + len(extra), 65536)


def _become_program(config: Config, kernel: Kernel, slot: int, cpu_seconds: int, ready: bool = False) -> None:
    """In a child just forked by the keeper (its fds placed): become the slot's unprivileged program
    with its limits, environment and scratch directory, and the run filter on. `ready`: this process
    is a spare that did all that already; only its CPU limit is left to set."""
    if ready:
        _limit_cpu(cpu_seconds)
        return
    os.setsid()
    os.nice(19)  # programs yield the CPU to the executor and keepers, so a fork bomb cannot starve answers
    signal.set_wakeup_fd(-1)  # the keeper's: a program starts with default signal handling
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    kernel.prctl(PR_SET_DUMPABLE, 1)  # /proc/self is ours again (the uid switch below clears it)
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("1000")
    os.umask(0o077)
    _drop_bounding_set(kernel)
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
    if os.uname().machine != "x86_64":  # fail closed: no program runs without the run filter
        raise OSError(f"the run filter supports x86_64 only, not {os.uname().machine}")
    install_run_filter(kernel)
    sys.argv = [RUN_FILENAME]
    sys.path.insert(0, scratch)


def _drop_bounding_set(kernel: Kernel) -> None:
    """Empty the capability bounding set (full in the slot's user namespace, where this child is still
    root): after the uid switch nothing, not even a file capability, could give any back."""
    for cap in range(64):
        if kernel.libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # EINVAL: past the last capability this kernel knows


def _setup_done(fd: int, error: str | None = None) -> None:
    """Tell the executor (through the run's setup memfd) that set-up finished, or how it failed.
    Written before any program code runs, so a program can never write it."""
    os.write(fd, b"\x01" if error is None else b"\x00" + error.encode("utf-8", "replace")[-4000:])
    os.close(fd)


def _spare_child(config: Config, kernel: Kernel, slot: int, sock_fd: int) -> None:
    """The slot's next program, forked by the keeper ahead of its request (after the slot was emptied
    and refreshed): it sets itself up, then waits for its request and becomes a run or a worker."""
    import socket

    try:
        devnull = os.open("/dev/null", os.O_WRONLY)
        _place_fds(devnull, devnull, [sock_fd])
        _become_program(config, kernel, slot, config.session_cpu_seconds)
        sock = socket.socket(fileno=3)
        message, fds, _, _ = socket.recv_fds(sock, 64, 4)
        op, cpu_seconds = START_FRAME.unpack(message)
        if sock.recv(1):  # wait for the keeper to close its end: no socket of it reaches the program
            raise OSError("the keeper sent more than one request")
        sock.close()
    except BaseException:  # noqa: BLE001 - no request was taken: the keeper forks on demand instead
        os._exit(1)
    target = _run_child if op == b"R" else _session_worker
    target(config, kernel, slot, fds, cpu_seconds, ready=True)


def _limit_cpu(cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def _run_child(
    config: Config, kernel: Kernel, slot: int, fds: list[int], cpu_seconds: int, ready: bool = False
) -> None:
    """The run: fds are (code, stdout, stderr, setup) memfds. Reads its own code after the fork.
    `ready`: this process already became the slot's program (a spare); only its CPU limit is set."""
    code_fd, out_fd, err_fd, setup = fds
    try:
        _place_fds(out_fd, err_fd, [code_fd, setup])
        setup = 4
        _become_program(config, kernel, slot, cpu_seconds, ready)
        code = os.pread(3, os.fstat(3).st_size, 0).decode("utf-8", "surrogateescape")
        os.close(3)
    except BaseException as exc:  # noqa: BLE001 - set-up failed: an infrastructure error, never stderr
        _report_setup_failure(setup, exc)
        os._exit(1)
    _setup_done(4)
    status = 1
    try:
        status = _shutdown(_execute(code, RUN_FILENAME, _fresh_main_module()))
    finally:  # whatever the program raised (even while printing its traceback) ends here
        os._exit(status)


def _report_setup_failure(fd: int, exc: BaseException) -> None:
    try:
        import traceback

        _setup_done(fd, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except BaseException:  # noqa: BLE001 - the executor then sees no set-up byte at all
        pass


CELL_FRAME = struct.Struct("=c8s")  # b"C" + token, with the code, stdout and stderr memfds attached
DONE_FRAME = struct.Struct("=c8si")  # b"D" + token + status: the worker's only message


def _session_worker(
    config: Config, kernel: Kernel, slot: int, fds: list[int], cpu_seconds: int, ready: bool = False
) -> None:
    """A session: run cells sent over the channel (fd 3, SOCK_SEQPACKET) in one namespace. Each cell
    arrives as CELL_FRAME with three memfds and is answered with DONE_FRAME. Never exits on its own."""
    import socket

    channel_fd, setup = fds
    try:
        devnull = os.open("/dev/null", os.O_WRONLY)
        _place_fds(devnull, devnull, [channel_fd, setup])
        setup = 4
        _become_program(config, kernel, slot, cpu_seconds, ready)
        sock = socket.socket(fileno=3)
    except BaseException as exc:  # noqa: BLE001
        _report_setup_failure(setup, exc)
        os._exit(1)
    _setup_done(4)
    try:
        _serve_cells(sock)
    finally:  # a program that breaks the loop ends its worker, never returns into the keeper's code
        os._exit(1)


def _serve_cells(sock) -> None:
    import socket

    namespace = _fresh_main_module()
    number = 0
    while True:
        message, cell_fds, _, _ = socket.recv_fds(sock, 64, 3)
        if len(message) != CELL_FRAME.size or len(cell_fds) != 3:
            return
        _, token = CELL_FRAME.unpack(message)
        code_fd, out_fd, err_fd = cell_fds
        code = os.pread(code_fd, os.fstat(code_fd).st_size, 0).decode("utf-8", "surrogateescape")
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in cell_fds:
            os.close(fd)
        number += 1
        status = _flush(_execute(code, f"cell{number}.py", namespace))
        sock.send(DONE_FRAME.pack(b"D", token, status))


def set_limits(memory: int, cpu_seconds: int, file_bytes: int, nofile: int, nproc: int | None) -> None:
    """Apply the per-run rlimits to this process (`nproc` None: leave the process count alone)."""
    import resource

    limits = {
        "RLIMIT_AS": memory,
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_FSIZE": file_bytes,
        "RLIMIT_NOFILE": nofile,
        "RLIMIT_CORE": 0,
    }
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
    for rng in Preloaded.randoms:  # e.g. sympy's own random.Random
        rng.seed(os.urandom(32))
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


# ---- keepers: one per slot, in the slot's namespaces --------------------------------------------

TAG_EXITED, TAG_CLEAN, TAG_BROKEN = ord("E"), ord("C"), ord("B")  # keeper -> executor, as "=ii" frames
KEEPER_FRAME = struct.Struct("=ii")  # (tag, raw wait status for TAG_EXITED, else 0)
START_FRAME = struct.Struct("=ci")  # executor -> keeper: b"R" (run) or b"W" (session worker), CPU seconds
KILL_DEADLINE = 5.0  # seconds the keeper tries to empty its slot before it declares the slot broken


def refresh_slot(config: Config, kernel: Kernel, slot: int) -> None:
    """Give the slot's next run new network and IPC namespaces (loopback up; no socket, TIME_WAIT
    entry or port state of an earlier run) and new, empty tmpfs instances on its scratch directory,
    /tmp and /dev/shm (a new inode each: no mode, ACL, xattr, time or file of an earlier run)."""
    import fcntl
    import socket

    kernel.unshare(CLONE_NEWNET | CLONE_NEWIPC)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH14s", b"lo", 0x1 | 0x8 | 0x40, b""))  # SIOCSIFFLAGS: up
    for target, options in config.fresh_mounts(slot):
        try:
            kernel.umount(target)
        except OSError:
            pass  # not mounted yet: the keeper's first run
        flags = MS_NOSUID | MS_NODEV | (MS_NOEXEC if target == "/dev/shm" else 0)
        kernel.mount("tmpfs", target, "tmpfs", flags, options)


def enter_slot_namespaces(config: Config, kernel: Kernel, slot: int, ready_w: int, go_r: int) -> None:
    """Become root of new user and mount namespaces (the template maps our root to an unused uid, and
    the slot's uid to itself), then set up the slot's private mounts, network and IPC namespaces."""
    kernel.unshare(CLONE_NEWUSER | CLONE_NEWNS)
    os.write(ready_w, b"1")
    if os.read(go_r, 1) != b"1":
        raise OSError("the template did not write our uid map")
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    os.setgroups([])
    kernel.mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    # ptys from a private devpts instance with its own small limit (Docker's /dev/ptmx links to it)
    kernel.mount(
        "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, f"newinstance,ptmxmode=0666,mode=0620,max={config.ptys}"
    )
    # the container's POSIX message queues: out of reach (the run filter also denies mq_open)
    kernel.mount("none", "/dev/mqueue", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555")
    refresh_slot(config, kernel, slot)


class Keeper:
    """Forks the slot's runs and session workers, empties the slot after each, keeps its mounts fresh.

    Never reads a program's code, output or input; a run's wait status passes through one ctypes
    buffer only (never a Python object) and is zeroed once sent, so the keeper's memory, which every
    later run of the slot inherits, holds nothing of an earlier run."""

    def __init__(self, config: Config, kernel: Kernel, slot: int, sock_fd: int) -> None:
        import socket

        self.config, self.kernel, self.slot = config, kernel, slot
        self.sock = socket.socket(fileno=sock_fd)
        self.frame = (kernel.ctypes.c_int * 2)()
        self.leader: int | None = None
        self.active = False  # a run or worker was started and the slot is not clean yet
        self.spare: int | None = None  # the next program, set up and waiting for its request
        self.spare_sock = None
        kernel.prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def send(self, tag: int) -> None:
        self.frame[0] = tag
        self.kernel.libc.send(self.sock.fileno(), self.frame, KEEPER_FRAME.size, 0x4000)  # MSG_NOSIGNAL
        self.frame[1] = 0

    def serve(self) -> None:
        import select

        self.prepare_spare()
        self.send(TAG_CLEAN)
        while True:
            readable, _, _ = select.select([self.sock, self.wake_r], [], [])
            if self.wake_r in readable:
                while _drain(self.wake_r):
                    pass
                if self.active:
                    self.reap()
                    if self.leader is None:
                        self.finish()
            if self.sock in readable:
                self.on_message()

    def on_message(self) -> None:
        import socket

        message, fds, _, _ = socket.recv_fds(self.sock, 64, 4)
        if not message:  # the executor is gone
            self.kill_all()
            os._exit(0)
        op = message[:1]
        if op in (b"R", b"W") and not self.active and len(message) == START_FRAME.size:
            pid = self.hand_to_spare(message, fds)
            if pid is None:  # no spare (its set-up failed): fork the program now
                _, cpu_seconds = START_FRAME.unpack(message)
                pid = os.fork()
                if pid == 0:
                    try:
                        target = _run_child if op == b"R" else _session_worker
                        target(self.config, self.kernel, self.slot, fds, cpu_seconds)
                    finally:
                        os._exit(1)
            self.leader, self.active = pid, True
        elif op == b"K" and self.active:
            self.finish()
        elif op in (b"Z", b"G") and self.active:
            self.signal_all(signal.SIGSTOP if op == b"Z" else signal.SIGCONT)
        for fd in fds:
            os.close(fd)

    def prepare_spare(self) -> None:
        """Fork the slot's next program now, off the request's path; it never saw an earlier run."""
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                _spare_child(self.config, self.kernel, self.slot, theirs.fileno())
            finally:
                os._exit(1)
        theirs.close()
        self.spare, self.spare_sock = pid, ours

    def hand_to_spare(self, message: bytes, fds: list[int]) -> int | None:
        """Pass the request on to the spare; its pid, or None when there is no live spare."""
        import socket

        pid, sock = self.spare, self.spare_sock
        self.spare = self.spare_sock = None
        if pid is None:
            return None
        try:
            socket.send_fds(sock, [message], fds)
        except OSError:
            return None  # it died setting itself up; reaped as any other child
        finally:
            sock.close()
        return pid

    def signal_all(self, signum: int) -> None:
        """Signal every process of the slot: kill(-1) from the root of the slot's user namespace
        reaches exactly the processes in it (never the executor, another slot or this keeper)."""
        try:
            os.kill(-1, signum)
        except OSError:
            pass

    def reap(self) -> bool:
        """Reap every exited child (reporting the leader's status); True when no child is left."""
        libc, status = self.kernel.libc, self.kernel.ctypes.byref(self.frame, 4)
        while True:
            pid = libc.waitpid(-1, status, 1)  # WNOHANG
            if pid <= 0:
                return pid < 0  # -1: ECHILD, nothing of the slot is left; 0: children still alive
            if pid == self.leader:
                self.leader = None
                self.send(TAG_EXITED)
            elif pid == self.spare:
                self.spare = None
                self.spare_sock.close()
            self.frame[1] = 0

    def kill_all(self) -> bool:
        """SIGKILL everything of the slot until this keeper (the subreaper of every process the slot
        ever had) has no child left. False if that takes longer than KILL_DEADLINE."""
        deadline = time.monotonic() + KILL_DEADLINE
        while True:
            self.signal_all(signal.SIGKILL)
            if self.reap():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0005)

    def finish(self) -> None:
        """End the slot's current use: nothing survives, the mounts are new; tell the executor."""
        clean = self.kill_all()
        if clean:
            try:
                refresh_slot(self.config, self.kernel, self.slot)
                self.prepare_spare()
            except OSError:
                clean = False
        self.active = not clean  # a broken slot takes no more work
        self.send(TAG_CLEAN if clean else TAG_BROKEN)


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 4096))
    except BlockingIOError:
        return False


# ---- the template: preloads once, creates the keepers, exits ------------------------------------


def template_main(config: Config, keeper_fds: list[int]) -> None:
    """Preload the heavy modules, then create one keeper per slot (each in new namespaces whose uid
    maps only a process outside them may write), and exit. Never sees a request."""
    for name, value in _program_environment("/tmp").items():
        if name.endswith("_THREADS"):
            os.environ[name] = value
    kernel = Kernel()
    kernel.libc.mallopt(-8, 2)  # M_ARENA_MAX: inherited by every run, so thread pools fit RLIMIT_AS
    _preload(config.preload)
    for slot, fd in enumerate(keeper_fds):
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            for other in (ready_r, go_w, *(f for f in keeper_fds if f != fd)):
                os.close(other)
            try:
                enter_slot_namespaces(config, kernel, slot, ready_w, go_r)
                os.close(ready_w)
                os.close(go_r)
                keeper = Keeper(config, kernel, slot, fd)
            except BaseException as exc:  # noqa: BLE001 - reported to the executor, which reports it
                os.write(fd, b"X" + f"slot {slot}: {type(exc).__name__}: {exc}".encode()[:2000])
                os._exit(1)
            keeper.serve()
        os.close(ready_w)
        os.close(go_r)
        if os.read(ready_r, 1) == b"1":
            _write_id_maps(config, slot, pid)
            os.write(go_w, b"1")
        os.close(ready_r)
        os.close(go_w)
    os._exit(0)


def _write_id_maps(config: Config, slot: int, pid: int) -> None:
    """Root of the keeper's namespace is an unused uid outside it; the slot's uid is itself."""
    keeper, uid = config.keeper_uid(slot), config.uid(slot)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as fh:
            fh.write(f"0 {keeper} 1\n{uid} {uid} 1\n")


def _preload(modules: list[str]) -> None:
    """Import the modules every run inherits, and note the RNG objects that each run must reseed."""
    import atexit  # noqa: E401,F401
    import random

    for module in [*modules, *(["numpy.random"] if "numpy" in modules else [])]:
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - a missing optional module only means slower runs
            pass
    found = {}
    for module in list(sys.modules.values()):
        try:
            values = list(vars(module).values())
        except TypeError:
            continue
        found.update((id(v), v) for v in values if isinstance(v, random.Random))
    Preloaded.randoms = list(found.values())


# ---- the executor: requests, slots, deadlines, answers ------------------------------------------


class Run:
    """One program, or one session cell, in flight."""

    def __init__(self, request: dict, slot: int, out_fd: int, err_fd: int, setup_fd: int | None) -> None:
        self.request = request
        self.slot = slot
        self.out_fd, self.err_fd, self.setup_fd = out_fd, err_fd, setup_fd
        self.started = time.monotonic()
        self.deadline = self.started + float(request.get("timeout", 10.0))
        self.status = -signal.SIGKILL
        self.timed_out = False
        self.misused_channel = False
        self.finished = 0.0


class Session:
    """A slot held by one episode. Its worker (when alive) keeps the namespace between cells.

    worker False: no process (not started, or it died and the slot was emptied); the next cell
    starts one. run: the cell in flight. frozen: the slot's processes are stopped between cells.
    pending: a cell that arrived while the slot was being emptied. closing: the close request."""

    def __init__(self, sid: int, slot: int) -> None:
        self.sid = sid
        self.slot = slot
        self.channel = None
        self.setup_fd: int | None = None
        self.worker = False
        self.run: Run | None = None
        self.token = b""
        self.last_token = b""  # the previous cell's: a late DONE_FRAME with it is ignored
        self.frozen = False
        self.pending: dict | None = None
        self.closing: dict | None = None
        self.reset_next = False
        self.setup_failure = ""  # why the last worker could not be set up (an infrastructure error)


class Slot:
    """The executor's view of one keeper."""

    def __init__(self, number: int, sock) -> None:
        self.number = number
        self.sock = sock
        self.owner: Run | Session | None = None
        self.ready = False  # the keeper reported its first clean state
        self.cleaning = False  # the keeper is emptying the slot (after an exit or a kill)
        self.lost = False


SETUP_FAILED = "the sandbox could not set up the run (infrastructure, not the program)"
MISUSE_NOTE = "\n[the program wrote to the session's control channel; the session was ended]\n"


class Executor:
    """Accepts requests, hands runs and sessions to free slots' keepers, enforces deadlines, answers,
    and gives a slot new work only once its keeper reports it clean. Never forks a program."""

    def __init__(self, config: Config, ctl_in: int, ctl_out: int, keeper_socks: list) -> None:
        import selectors

        self.config = config
        self.ctl_in = ctl_in
        self.ctl_out = os.fdopen(ctl_out, "w", buffering=1, encoding="utf-8", errors="surrogateescape")
        self.slots = [Slot(i, sock) for i, sock in enumerate(keeper_socks)]
        self.pending: list[dict] = []  # runs and session opens waiting for a free slot
        self.sessions: dict[int, Session] = {}
        self.next_sid = 1
        self.completed = 0
        self.inbuf = bytearray()
        self.errors: list[str] = []
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector = selectors.DefaultSelector()
        self.selector.register(ctl_in, selectors.EVENT_READ, self._on_request_bytes)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._on_wakeup)
        for slot in self.slots:
            slot.sock.setblocking(False)
            self.selector.register(slot.sock, selectors.EVENT_READ, lambda s=slot: self._on_keeper(s))
        self.running = True

    # -- loop

    def start(self, limit: float = 60.0) -> None:
        """Wait until every keeper reported ready or failed, then tell the host."""
        deadline = time.monotonic() + limit
        while not all(s.ready or s.lost for s in self.slots) and time.monotonic() < deadline:
            for key, _ in self.selector.select(max(0.0, deadline - time.monotonic())):
                if key.fd != self.ctl_in:
                    key.data()
        for slot in self.slots:
            if not slot.ready and not slot.lost:
                self._lose(slot, "keeper did not start")
        ready = [s for s in self.slots if s.ready and not s.lost]
        message = {"id": None, "ready": bool(ready), "slots": len(self.slots), "python": sys.version.split()[0]}
        if not ready:
            message["error"] = "; ".join(self.errors) or "no slot could start"
        self._reply(message)

    def serve(self) -> None:
        while self.running:
            deadlines = [run.deadline for run in self._in_flight() if not run.timed_out]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _ in self.selector.select(timeout):
                key.data()
            self._enforce_deadlines()

    def _in_flight(self) -> list[Run]:
        runs = []
        for slot in self.slots:
            owner = slot.owner
            run = owner.run if isinstance(owner, Session) else owner
            if run is not None:
                runs.append(run)
        return runs

    def _on_wakeup(self) -> None:
        while _drain(self.wake_r):
            pass
        while True:  # the template and the keepers are our children; a keeper's end shows on its socket
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    # -- requests

    def _on_request_bytes(self) -> None:
        data = os.read(self.ctl_in, 1 << 20)
        if not data:  # the host went away: stop; the keepers end when their sockets close
            self.running = False
            return
        start = len(self.inbuf)
        self.inbuf += data
        end = self.inbuf.find(b"\n", start)
        while end >= 0:
            line = bytes(self.inbuf[:end])
            del self.inbuf[: end + 1]
            if line.strip():
                self._handle(line)
            end = self.inbuf.find(b"\n")

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
                if session.worker or self.slots[session.slot].cleaning:
                    self._kill(self.slots[session.slot])
                else:
                    self._end_session(session)
            elif session.run is not None or session.pending is not None:
                self._reply({"id": request.get("id"), "error": "the session is busy with another cell"})
            elif self.slots[session.slot].cleaning:
                session.pending = request
            else:
                self._start_cell(session, request)
        elif op == "ping":
            self._reply(
                {
                    "id": request.get("id"),
                    "pong": True,
                    "rss_kb": _rss_kb(),
                    "runs": self.completed,
                    "busy": sum(s.owner is not None or s.cleaning for s in self.slots if not s.lost),
                    "sessions": len(self.sessions),
                }
            )
        else:
            self._reply({"id": request.get("id"), "error": f"unknown op {op!r}"})

    def _start_pending(self) -> None:
        while self.pending:
            free = [s for s in self.slots if s.ready and not s.lost and s.owner is None and not s.cleaning]
            if not free:
                return
            request, slot = self.pending.pop(0), free[0]
            if request["op"] == "open":
                session = Session(self.next_sid, slot.number)
                self.next_sid += 1
                self.sessions[session.sid] = session
                slot.owner = session
                self._start_worker(session)
                self._reply({"id": request.get("id"), "session": session.sid})
                continue
            code_fd = _memfd("code", request.get("code", "").encode("utf-8", "surrogateescape"))
            run = Run(request, slot.number, _memfd("stdout"), _memfd("stderr"), _memfd("setup"))
            slot.owner = run
            cpu = int(float(request.get("timeout", 10.0))) + 2
            self._to_keeper(slot, START_FRAME.pack(b"R", cpu), [code_fd, run.out_fd, run.err_fd, run.setup_fd])
            os.close(code_fd)

    def _to_keeper(self, slot: Slot, message: bytes, fds: list[int] = ()) -> None:
        import socket

        try:
            socket.send_fds(slot.sock, [message], list(fds))
        except OSError as exc:
            self._lose(slot, f"keeper of slot {slot.number} unreachable: {exc}")

    def _kill(self, slot: Slot) -> None:
        if not slot.cleaning and not slot.lost:
            slot.cleaning = True
            self._to_keeper(slot, b"K")

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for run in self._in_flight():
            if not run.timed_out and now >= run.deadline:
                run.timed_out = True
                run.finished = now
                self._kill(self.slots[run.slot])

    # -- keepers

    def _on_keeper(self, slot: Slot) -> None:
        if slot.sock.fileno() < 0:  # closed earlier in this round of events
            return
        try:
            data = slot.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as exc:
            data, why = b"", str(exc)
        else:
            why = "keeper exited"
        if not data or data[:1] == b"X":
            self.selector.unregister(slot.sock)
            slot.sock.close()
            self._lose(slot, data[1:].decode("utf-8", "replace") if data else f"slot {slot.number}: {why}")
            return
        tag, raw = KEEPER_FRAME.unpack(data[: KEEPER_FRAME.size])
        if tag == TAG_EXITED:
            self._leader_exited(slot, os.waitstatus_to_exitcode(raw))
        elif tag == TAG_CLEAN:
            self._cleaned(slot)
        elif tag == TAG_BROKEN:  # the program's processes would not die: its result is a kill; the slot is lost
            owner = slot.owner
            run = owner.run if isinstance(owner, Session) else owner
            if run is not None:
                run.finished = run.finished or time.monotonic()
                self._respond(run, reset=isinstance(owner, Session))
                if isinstance(owner, Session):
                    owner.run = None
                else:
                    slot.owner = None
            self._lose(slot, f"slot {slot.number}: its processes could not be killed within {KILL_DEADLINE:.0f} s")

    def _leader_exited(self, slot: Slot, code: int) -> None:
        """The run's process (or the session's worker) ended; the keeper is emptying the slot."""
        slot.cleaning = True
        owner = slot.owner
        if isinstance(owner, Run):
            owner.status = code
            owner.finished = owner.finished or time.monotonic()
            slot.owner = None  # answered now; the slot takes work again once clean
            self._respond(owner)
        elif isinstance(owner, Session):
            owner.worker = False
            owner.frozen = False
            owner.setup_failure = _setup_failure(owner.setup_fd) or ""
            self._drop_channel(owner)
            _close_setup(owner)
            if owner.run is not None and not owner.run.timed_out:
                owner.run.status = code
                owner.run.finished = time.monotonic()
            if owner.run is None:
                owner.reset_next = True

    def _cleaned(self, slot: Slot) -> None:
        slot.cleaning = False
        slot.ready = True
        session = slot.owner
        if isinstance(session, Session):
            if session.run is not None:
                run, session.run = session.run, None
                if session.setup_failure:
                    self._reply({"id": run.request.get("id"), "error": session.setup_failure})
                    _close_run(run)
                else:
                    self._respond(run, reset=True)
            if session.closing is not None:
                self._end_session(session)
            elif session.pending is not None:
                request, session.pending = session.pending, None
                self._start_cell(session, request)
            return
        self._start_pending()

    def _lose(self, slot: Slot, why: str) -> None:
        """Take a slot out of service for good (the host drains and replaces the container)."""
        if slot.lost:
            return
        slot.lost = True
        self.errors.append(why)
        owner, slot.owner = slot.owner, None
        if isinstance(owner, Run):
            self._reply({"id": owner.request.get("id"), "error": why})
            _close_run(owner)
        elif isinstance(owner, Session):
            self._drop_channel(owner)
            _close_setup(owner)
            for request in (owner.run.request if owner.run else None, owner.pending, owner.closing):
                if request is not None:
                    self._reply({"id": request.get("id"), "error": f"session lost: {why}"})
            if owner.run is not None:
                _close_run(owner.run)
            self.sessions.pop(owner.sid, None)
        self._start_pending()

    # -- sessions

    def _start_worker(self, session: Session) -> None:
        import selectors
        import socket

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        session.setup_fd = _memfd("setup")
        slot = self.slots[session.slot]
        start = START_FRAME.pack(b"W", self.config.session_cpu_seconds)
        self._to_keeper(slot, start, [theirs.fileno(), session.setup_fd])
        theirs.close()
        ours.setblocking(False)
        session.channel, session.worker, session.frozen = ours, True, False
        self.selector.register(ours, selectors.EVENT_READ, lambda: self._on_channel(session))

    def _start_cell(self, session: Session, request: dict) -> None:
        import socket

        if not session.worker:
            self._start_worker(session)
        if session.frozen:
            self._to_keeper(self.slots[session.slot], b"G")
            session.frozen = False
        if session.channel is None:  # the slot was lost while starting (its keeper unreachable): answered here,
            why = self.errors[-1] if self.errors else "the session's worker is gone"  # _lose answered the rest
            self._reply({"id": request.get("id"), "error": f"session lost: {why}"})
            return
        session.last_token, session.token = session.token, os.urandom(8)
        code_fd = _memfd("code", request.get("code", "").encode("utf-8", "surrogateescape"))
        run = Run(request, session.slot, _memfd("stdout"), _memfd("stderr"), None)
        session.run = run
        try:
            socket.send_fds(session.channel, [CELL_FRAME.pack(b"C", session.token)], [code_fd, run.out_fd, run.err_fd])
        except OSError:
            pass  # the worker is gone: the keeper reports its end, and the cell is answered as a reset
        finally:
            os.close(code_fd)

    def _on_channel(self, session: Session) -> None:
        """The worker's DONE_FRAME ends the cell and stops the slot until the next one. Anything else
        (wrong size, a stale or forged token, a message between cells) is the program's misuse: the
        session is ended and the cell answered as such. Fixed-size reads: O(1) work per message."""
        if session.channel is None:  # dropped earlier in this round of events
            return
        try:
            data, _, flags, _ = session.channel.recvmsg(64)
        except BlockingIOError:
            return
        except OSError:
            data, flags = b"", 0
        if not data:
            self._drop_channel(session)
            return
        run = session.run
        whole = len(data) == DONE_FRAME.size and not flags & 0x20  # 0x20: MSG_TRUNC, the message was longer
        frame = DONE_FRAME.unpack(data) if whole else None
        if frame and frame[0] == b"D" and session.last_token and frame[1] == session.last_token:
            return  # the program forged the previous cell's end; its worker is only catching up
        if frame and frame[0] == b"D" and frame[1] == session.token and run is not None and not run.timed_out:
            run.status, run.finished, session.run = frame[2], time.monotonic(), None
            self._to_keeper(self.slots[session.slot], b"Z")
            session.frozen = True
            self._respond(run)
            return
        if run is not None:
            run.misused_channel = True
        else:
            session.reset_next = True
        self._drop_channel(session)
        self._kill(self.slots[session.slot])

    def _drop_channel(self, session: Session) -> None:
        if session.channel is not None:
            self.selector.unregister(session.channel)
            session.channel.close()
            session.channel = None

    def _end_session(self, session: Session) -> None:
        slot = self.slots[session.slot]
        self.sessions.pop(session.sid, None)
        slot.owner = None
        self._reply({"id": session.closing.get("id"), "closed": True})
        self._start_pending()

    # -- answers

    def _respond(self, run: Run, reset: bool = False) -> None:
        failure = _setup_failure(run.setup_fd)
        if failure:
            self._reply({"id": run.request.get("id"), "error": failure})
            _close_run(run)
            return
        cap = int(run.request.get("max_output", 65536))
        stdout, cut_out = read_head_tail(run.out_fd, cap)
        stderr, cut_err = read_head_tail(run.err_fd, cap)
        _close_run(run)
        self.completed += 1
        reply = {
            "id": run.request.get("id"),
            "stdout": stdout,
            "stderr": stderr + (MISUSE_NOTE if run.misused_channel else ""),
            "exit_code": -signal.SIGKILL if run.timed_out or run.misused_channel else run.status,
            "timed_out": run.timed_out,
            "truncated": cut_out or cut_err,
            "duration": round(run.finished - run.started, 6),
        }
        session = self.slots[run.slot].owner
        if reset or (isinstance(session, Session) and session.reset_next):
            reply["reset"] = True
            if isinstance(session, Session):
                session.reset_next = False
        self._reply(reply)

    def _reply(self, message: dict) -> None:
        message["lost"] = sum(s.lost for s in self.slots)
        self.ctl_out.write(json.dumps(message) + "\n")


def _setup_failure(fd: int | None) -> str | None:
    """What the set-up memfd says went wrong before any program code ran (None: set-up finished)."""
    if fd is None or os.pread(fd, 1, 0) == b"\x01":
        return None
    detail = os.pread(fd, 4096, 1).decode("utf-8", "replace").strip()
    return f"{SETUP_FAILED}: {detail or 'no report'}"


def _close_setup(session: Session) -> None:
    if session.setup_fd is not None:
        os.close(session.setup_fd)
        session.setup_fd = None


def _close_run(run: Run) -> None:
    for fd in (run.out_fd, run.err_fd, run.setup_fd):
        if fd is not None:
            os.close(fd)
    run.out_fd = run.err_fd = run.setup_fd = None


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    if data:
        os.write(fd, data)
    return fd


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    import socket

    config = Config(json.loads(sys.argv[1]))
    ctl_in, ctl_out = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    Kernel().prctl(PR_SET_CHILD_SUBREAPER, 1)  # the keepers, orphaned when the template exits, come here
    for slot in range(config.slots):
        os.makedirs(config.scratch(slot), mode=0o755, exist_ok=True)
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(config.slots)]
    if os.fork() == 0:
        for fd in (ctl_in, ctl_out):
            os.close(fd)
        for ours, _ in pairs:
            ours.close()
        template_main(config, [theirs.detach() for _, theirs in pairs])
    for _, theirs in pairs:
        theirs.close()
    executor = Executor(config, ctl_in, ctl_out, [ours for ours, _ in pairs])
    executor.start()
    executor.serve()


if __name__ == "__main__":
    if sys.argv[1] == "--stdin":
        run_stdin_main(*map(int, sys.argv[2:5]))
    main()
