#!/usr/bin/env python3
"""Soak test of the docker sandbox: many runs, normal and hostile mixed, through one pool.

    python bench/soak.py                 # 10,000 runs at concurrency 8, about 20 % hostile
    python bench/soak.py --quick         # a 300-run smoke run
    python bench/soak.py --runs 2000 --concurrency 16 --json soak.json

Normal programs compute something whose answer is known on the host and varies per run (sums,
numpy, strings, sympy factorisation, exit statuses, a scratch-file round trip that also checks the
slot starts clean); every output is compared exactly. Hostile programs (infinite loop, fork bomb,
memory bomb, output floods, file fillers in /tmp, scratch and /dev/shm, an inode filler, a setsid
daemon, kill(-1), SysV IPC, thread bomb, and the kinds of issue 9: a thread group whose leader
exited (at the timeout, and detached), a program killing its own tree, the scratch inode changed
(mode, xattr, times), files, FIFOs and symlinks planted in /tmp and /dev/shm, and session programs
that misuse their control channel or forge the end of their cell) are checked for the containment
the sandbox promises; session kinds also check that the session answers its next call.

Every `--check-every` runs, with the pool idle, and at the end it records: executor memory (rss_kb
from `sandbox.ping()`), leaked processes (a probe in every slot of every container, each in its own
user namespace, counts processes of the slot's uid other than itself via /proc), leaked files (the
probe lists /tmp, /dev/shm and its scratch, and checks that the scratch is a fresh inode), leaked
SysV IPC objects and sockets, container replacements, infrastructure errors (`SandboxError`) and
throughput. After `close()` it counts the pool's containers left (`docker ps -a`, label
r1ci.sandbox=1). It prints a markdown report and exits 1 on any wrong output, containment failure,
infrastructure error, executor death or leak (2 on bad usage, 130 when interrupted). Containers the
pool retired because an executor answered too late (timeout + grace, typically CPU overload) are
reported as warnings: the pool recovers from them by design, but they are worth seeing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import string
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import r1ci_env  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.sandbox_bench import percentile
from r1ci_env.sandbox import ExecResult, SandboxError
from r1ci_env.sandbox.docker_pool import LABEL, OWNER_LABEL, DockerSandbox, _owner

NORMAL_TIMEOUT = 20.0


@dataclass
class Job:
    kind: str
    hostile: bool
    code: str
    timeout: float
    check: Callable[[ExecResult], str | None]  # None when the result is as expected, else what is wrong
    session: bool = False  # run in a session, followed by a cell that must answer


# ---- normal programs: the host knows the exact answer -----------------------------------------


def _expect(stdout: str, exit_code: int = 0, stderr: str | None = None) -> Callable[[ExecResult], str | None]:
    def check(result: ExecResult) -> str | None:
        problems = []
        if result.timed_out or result.truncated:
            problems.append(f"timed_out={result.timed_out} truncated={result.truncated}")
        if result.exit_code != exit_code:
            problems.append(f"exit {result.exit_code} != {exit_code}")
        if result.stdout != stdout:
            problems.append(f"stdout {result.stdout[:200]!r} != {stdout[:200]!r}")
        if stderr is not None and result.stderr != stderr:
            problems.append(f"stderr {result.stderr[:200]!r} != {stderr!r}")
        if problems and result.stderr and stderr is None:
            problems.append(f"stderr tail {result.stderr[-300:]!r}")
        return "; ".join(problems) or None

    return check


SLOT_CHECK = """\
import os
uid = os.getuid()
leftover = sorted(os.listdir('.'))
mine = []
for d in ('/tmp', '/dev/shm'):
    for name in os.listdir(d):
        try:
            if os.lstat(os.path.join(d, name)).st_uid == uid:
                mine.append(os.path.join(d, name))
        except FileNotFoundError:
            pass
live = 0
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            with open('/proc/%s/status' % p) as fh:
                fields = dict(l.split(':', 1) for l in fh.read().splitlines() if ':' in l)
        except OSError:
            continue
        if int(fields['Uid'].split()[0]) == uid and not fields['State'].strip().startswith(('Z', 'X')):
            live += 1
with open('note.txt', 'w') as fh:
    fh.write(TOKEN)
print(open('note.txt').read(), leftover, mine, live)
"""

PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 101, 997, 7919)


def normal_job(rng: random.Random) -> Job:
    kind = rng.choice(("sum_range", "numpy_squares", "string_ops", "sympy_factor", "slot_clean_io", "exit_status"))
    if kind == "sum_range":
        n = rng.randint(1, 2_000_000)
        return Job(kind, False, f"print(sum(range({n})))", NORMAL_TIMEOUT, _expect(f"{n * (n - 1) // 2}\n"))
    if kind == "numpy_squares":
        n = rng.randint(1, 100_000)
        code = f"import numpy as np\na = np.arange({n}, dtype=np.int64)\nprint(int((a * a).sum()))"
        return Job(kind, False, code, NORMAL_TIMEOUT, _expect(f"{(n - 1) * n * (2 * n - 1) // 6}\n"))
    if kind == "string_ops":
        s = "".join(rng.choice(string.ascii_letters + " ,.") for _ in range(rng.randint(1, 300)))
        code = f"s = {s!r}\nprint(s[::-1].upper(), len(set(s)), s.count('a'), sep='|')"
        return Job(kind, False, code, NORMAL_TIMEOUT, _expect(f"{s[::-1].upper()}|{len(set(s))}|{s.count('a')}\n"))
    if kind == "sympy_factor":
        factors = [rng.choice(PRIMES) for _ in range(rng.randint(1, 6))]
        m = 1
        for p in factors:
            m *= p
        code = f"import sympy\nprint(sorted(sympy.factorint({m}).items()))"
        return Job(kind, False, code, NORMAL_TIMEOUT, _expect(f"{sorted(Counter(factors).items())}\n"))
    if kind == "slot_clean_io":
        token = "%016x" % rng.getrandbits(64)
        # The scratch is empty, no file of this uid in /tmp or /dev/shm, no other live process of it.
        return Job(kind, False, SLOT_CHECK.replace("TOKEN", repr(token)), NORMAL_TIMEOUT, _expect(f"{token} [] [] 1\n"))
    n, status = rng.randint(0, 10**9), rng.randint(1, 120)
    code = f"import sys\nprint({n})\nsys.stderr.write('warn\\n')\nsys.exit({status})"
    return Job(kind, False, code, NORMAL_TIMEOUT, _expect(f"{n}\n", status, "warn\n"))


# ---- hostile programs: checked for containment --------------------------------------------------


ZOMBIE_LEADER = (  # a thread group whose leader thread exited while another thread runs on
    "import ctypes, os, threading, time\n"
    "def plant():\n"
    "    while True:\n"
    "        try:\n"
    "            open('/tmp/planted.py', 'w').write('x')\n"
    "        except OSError:\n"
    "            pass\n"
    "        time.sleep(0.01)\n"
    "threading.Thread(target=plant).start()\n"
    "time.sleep(0.02)\n"
    "ctypes.CDLL(None).pthread_exit(None)\n"
)
CHANNEL = "import os, socket, struct, sys, time\nch = socket.socket(fileno=os.dup(3))\n"  # a session's channel
SESSION_KINDS = frozenset(
    ("session_channel_garbage", "session_channel_flood", "session_forged_done", "session_forged_exit")
)


def _filler(directory: str) -> str:
    return (
        "import os\nn = 0\ntry:\n    while True:\n"
        f"        with open(os.path.join({directory!r}, 'fill-%d-%d' % (os.getpid(), n)), 'wb') as fh:\n"
        "            fh.write(b'z' * (1 << 20))\n        n += 1\n"
        "except OSError as e:\n    print('full', type(e).__name__)\n"
    )


HOSTILE: dict[str, tuple[str, float]] = {
    "infinite_loop": ("while True:\n    pass\n", 1.0),
    "fork_bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", 1.0),
    "memory_bomb": ("x = []\nwhile True:\n    x.append(b'x' * (64 << 20))\n", 5.0),
    "output_flood": ("import sys\nfor i in range(150000):\n    print(i, 'x' * 60)\n", 10.0),
    "output_flood_endless": (
        "import sys\nwhile True:\n    sys.stdout.write('y' * 65536)\n    sys.stderr.write('e' * 4096)\n",
        2.0,
    ),
    "fill_tmp": (_filler("/tmp"), 5.0),
    "fill_scratch": (_filler("."), 5.0),
    "fill_dev_shm": (_filler("/dev/shm"), 5.0),
    "fill_inodes": (
        "import os\nn = 0\ntry:\n    while True:\n        open('i%d' % n, 'w').close()\n        n += 1\n"
        "except OSError as e:\n    print('full', type(e).__name__)\n",
        5.0,
    ),
    "setsid_daemon": (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        while True:\n"
        "            try:\n"
        "                open('/tmp/daemon-%d' % os.getuid(), 'w').write('alive')\n"
        "                open('daemon-alive', 'w').write('x')\n"
        "            except OSError:\n"
        "                pass\n"
        "            time.sleep(0.005)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "time.sleep(0.05)\n"
        "print('parent done')\n",
        5.0,
    ),
    "kill_all": (
        "import os, signal\n"
        "for target in (1, os.getppid()):\n"
        "    try:\n"
        "        os.kill(target, signal.SIGKILL)\n"
        "    except OSError as e:\n"
        "        print('denied', target == 1, type(e).__name__)\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    signal.pause()\n"
        "os.kill(-1, signal.SIGKILL)  # Linux spares the caller: this kills the child\n"
        "print('child', os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))\n",
        5.0,
    ),
    "sysv_ipc_denied": (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "shm = libc.shmget(0, 1 << 20, 0o1600)\n"
        "sem = libc.semget(0, 1, 0o1600)\n"
        "msg = libc.msgget(0, 0o1600)\n"
        "print(shm >= 0, sem >= 0, msg >= 0)\n",
        5.0,
    ),
    "zombie_leader": (ZOMBIE_LEADER, 1.0),
    "loopback_time_wait": (
        "import socket\nserver = socket.socket()\nserver.bind(('127.0.0.1', 0))\n"
        "server.listen()\nclient = socket.create_connection(server.getsockname())\n"
        "server.accept()[0].close()\nclient.close()\nprint('talked')\n",
        5.0,
    ),
    "detached_zombie_leader": (
        "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        + "".join("        " + line + "\n" for line in ZOMBIE_LEADER.splitlines())
        + "    os._exit(0)\nos.wait()\nprint('parent done')\n",
        5.0,
    ),
    "kill_own_tree": (
        "import os, signal\nif os.fork() == 0:\n    import time; time.sleep(9)\n"
        "os.kill(-1, signal.SIGKILL)\nos.kill(0, signal.SIGKILL)\n",
        5.0,
    ),
    "scratch_inode": (
        "import os\nos.setxattr('.', 'user.note', b'x')\nos.utime('.', (0, 0))\n"
        "os.chmod('/tmp', 0o777)\nos.chmod('.', 0o000)\nprint('changed')\n",
        5.0,
    ),
    "plant_tmp": (
        "import os\nos.mkfifo('/tmp/result.txt')\nos.symlink('/etc/passwd', '/dev/shm/result.txt')\n"
        "os.symlink('/etc/passwd', 'result.txt')\nprint('planted')\n",
        5.0,
    ),
    "session_channel_garbage": (CHANNEL + "ch.send(b'{\"status\": NaN}' + b'[' * 500)\ntime.sleep(3)\n", 2.0),
    "session_channel_flood": (
        CHANNEL + "for _ in range(3000):\n    try:\n        ch.send(b'x' * 4096, "
        "socket.MSG_DONTWAIT)\n    except OSError:\n        break\ntime.sleep(3)\n",
        2.0,
    ),
    "session_forged_done": (
        CHANNEL + "token, frame = None, sys._getframe()\n"
        "while frame is not None and token is None:\n"
        "    token, frame = frame.f_locals.get('token'), frame.f_back\n"
        "ch.send(struct.pack('=c8si', b'D', token, 0))\ntime.sleep(0.2)\n",
        2.0,
    ),
    "session_forged_exit": (CHANNEL + "ch.send(struct.pack('=c8si', b'D', b'01234567', 0))\nos._exit(0)\n", 2.0),
    "thread_bomb": (
        "import threading, time\nn = 0\ntry:\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n        n += 1\n"
        "except RuntimeError:\n    print('capped', n > 0)\n",
        5.0,
    ),
}


EXPECTED_STDOUT = {  # hostile kinds that must exit 0 with exactly this output
    "setsid_daemon": "parent done\n",
    "detached_zombie_leader": "parent done\n",
    "scratch_inode": "changed\n",
    "plant_tmp": "planted\n",
    "loopback_time_wait": "talked\n",
    "kill_all": "denied True PermissionError\ndenied False PermissionError\nchild -9\n",
    "sysv_ipc_denied": "False False False\n",
    "thread_bomb": "capped True\n",
}


def _hostile_check(kind: str) -> Callable[[ExecResult], str | None]:
    flood_tail = "149999 " + "x" * 60 + "\n"

    def check(r: ExecResult) -> str | None:
        if kind in ("infinite_loop", "fork_bomb", "zombie_leader"):
            ok = r.timed_out and r.exit_code == -9
        elif kind in SESSION_KINDS:  # the program's own result (never a SandboxError), and the session answers
            ok = not r.stdout.startswith("the next cell failed") and (
                r.exit_code != 0 or r.timed_out or kind == "session_forged_done"
            )
        elif r.timed_out:  # killed at its deadline (e.g. starved of CPU by a neighbour): contained too
            ok = r.exit_code == -9
        elif kind == "memory_bomb":
            ok = r.exit_code != 0 and ("MemoryError" in r.stderr or r.exit_code == -9)  # or the OOM killer
        elif kind == "output_flood":
            ok = (
                r.exit_code == 0
                and r.truncated
                and r.stdout.startswith("0 " + "x" * 60 + "\n1 ")
                and r.stdout.endswith(flood_tail)
                and "bytes omitted" in r.stdout
            )
        elif kind == "output_flood_endless":
            ok = r.truncated and r.exit_code != 0
        elif kind.startswith("fill_"):
            ok = r.exit_code == 0 and r.stdout.startswith("full ")
        elif kind == "kill_own_tree":
            ok = r.exit_code == -9
        elif kind in EXPECTED_STDOUT:
            ok = r.exit_code == 0 and r.stdout == EXPECTED_STDOUT[kind]
        else:
            raise AssertionError(kind)
        if ok:
            return None
        return (
            f"exit {r.exit_code}, timed_out={r.timed_out}, truncated={r.truncated}, "
            f"stdout {r.stdout[:120]!r}...{r.stdout[-80:]!r}, stderr {r.stderr[-200:]!r}"
        )

    return check


def hostile_job(rng: random.Random, skip: frozenset[str] = frozenset()) -> Job:
    kind = rng.choice(sorted(set(HOSTILE) - skip))
    code, timeout = HOSTILE[kind]
    return Job(kind, True, code, timeout, _hostile_check(kind), session=kind in SESSION_KINDS)


# ---- the probe: what a quiet container holds ----------------------------------------------------

PROBE = """\
import json, os, socket, stat, time
me, uid = os.getpid(), os.getuid()
procs, zombies = [], []
for p in os.listdir('/proc'):
    if not p.isdigit() or int(p) == me:
        continue
    try:
        with open('/proc/%s/status' % p) as fh:
            fields = dict(l.split(':', 1) for l in fh.read().splitlines() if ':' in l)
    except OSError:
        continue
    if int(fields['Uid'].split()[0]) == uid:  # the slot's uid; all outside the slot shows as 65534 here
        entry = [int(p), uid, fields['Name'].strip(), fields['State'].strip()[:1]]
        (zombies if entry[3] in 'ZX' else procs).append(entry)
files = {}
for d in ('/tmp', '/dev/shm', '.'):
    try:
        files[d] = sorted(os.listdir(d))
    except OSError as e:
        files[d] = ['<%s>' % e]
st = os.stat('.')
if stat.S_IMODE(st.st_mode) != 0o700 or os.listxattr('.') or time.time() - st.st_mtime > 600:
    files['scratch inode'] = [oct(st.st_mode), os.listxattr('.'), st.st_mtime]
sysv = {}
for kind in ('shm', 'sem', 'msg'):
    with open('/proc/sysvipc/' + kind) as fh:
        sysv[kind] = len(fh.read().splitlines()) - 1
for kind in ('unix', 'tcp', 'udp'):
    with open('/proc/net/' + kind) as fh:
        sysv['socket ' + kind] = len(fh.read().splitlines()) - 1
slot = os.getcwd().rsplit('/', 1)[1]
time.sleep(0.6)  # hold the slot so that the other probes land in the other slots
print(json.dumps({'host': socket.gethostname(), 'slot': slot, 'procs': procs, 'zombies': zombies,
                  'files': files, 'sysv': sysv}))
"""


def wait_idle(sandbox: DockerSandbox, limit: float = 60.0) -> float:
    """Wait until no executor has a busy slot (the executor answers a run before its slot is
    cleaned, so the last cleanups may still be going on); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        stats = sandbox.ping()
        if stats and all(stat.get("busy", 0) == 0 for stat in stats):
            break
        time.sleep(0.05)
    return time.monotonic() - started


def probe_all(sandbox: DockerSandbox) -> list[dict]:
    """One probe in every slot of every container (each slot has its own namespaces, so a probe sees
    only its own), started together while the pool is otherwise idle."""
    slots = sandbox.total_slots
    for _ in range(5):
        answers: list[Any] = [None] * slots

        def one(i: int) -> None:
            try:
                result = sandbox.run(PROBE, timeout=20)
                answers[i] = json.loads(result.stdout) if result.ok else {"error": result.stderr[-500:]}
            except (SandboxError, ValueError) as exc:
                answers[i] = {"error": str(exc)}

        threads = [threading.Thread(target=one, args=(i,)) for i in range(slots)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        covered = {(a.get("host"), a.get("slot")) for a in answers if a and "host" in a}
        if len(covered) == slots or any("error" in a for a in answers):
            return answers
    return answers


def leak_counts(probes: list[dict]) -> dict[str, Any]:
    procs = sum(len(p.get("procs", [])) for p in probes)
    zombies = sum(len(p.get("zombies", [])) for p in probes)
    files = sum(len(names) for p in probes for names in p.get("files", {}).values())
    sysv = sum(max(0, n) for p in probes for n in p.get("sysv", {}).values())
    errors = [p["error"] for p in probes if "error" in p]
    details = {
        "procs": [x for p in probes for x in p.get("procs", [])][:10],
        "files": {d: names[:10] for p in probes for d, names in p.get("files", {}).items() if names},
        "sysv": [p.get("sysv") for p in probes if any(p.get("sysv", {}).values())],
    }
    return {
        "procs": procs,
        "zombies": zombies,
        "files": files,
        "sysv": sysv,
        "probe_errors": errors,
        "containers_probed": len({p.get("host") for p in probes if "host" in p}),
        "slots_probed": len({(p.get("host"), p.get("slot")) for p in probes if "host" in p}),
        "details": details,
    }


# ---- docker bookkeeping -------------------------------------------------------------------------


def _docker_client() -> Any:
    import docker

    return docker.from_env()


def labelled_containers(client: Any, owner: str | None = None) -> list[str]:
    label = f"{OWNER_LABEL}={owner}" if owner else LABEL
    return [c.id for c in client.containers.list(all=True, filters={"label": label}, ignore_removed=True)]


# ---- the soak -----------------------------------------------------------------------------------


class ObservedPool(DockerSandbox):
    """The pool, plus a record of why each container was retired (the pool replaces dead containers
    and retries runs silently; the soak must still see it). Hooks the private `_replace`; if that
    goes away, replacements are still counted from the container ids."""

    def __init__(self, **options: Any) -> None:
        self.retired: list[str] = []
        self._retired_ids: set[int] = set()
        self._retired_lock = threading.Lock()
        super().__init__(**options)

    def _replace(self, container: Any, drain: bool = False) -> None:
        with self._retired_lock:
            first = id(container) not in self._retired_ids and container in getattr(self, "_containers", ())
            self._retired_ids.add(id(container))
        if first:
            self.retired.append(
                f"{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.0f}: "
                f"{'drained (a slot out of service)' if drain else getattr(container, 'death', '?')}"
            )
        super()._replace(container, drain)


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done = 0
        self.by_kind: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"runs": 0, "problems": 0, "timed_out": 0, "latencies": [], "hostile": False}
        )
        self.wrong_normal: list[str] = []
        self.hostile_failures: list[str] = []
        self.infra_errors: list[str] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.container_ids: set[str] = set()

    def run_job(self, sandbox: DockerSandbox, job: Job) -> None:
        started = time.perf_counter()
        try:
            if job.session:
                result = self._session_job(sandbox, job)
            else:
                result = sandbox.run(job.code, timeout=job.timeout)
        except SandboxError as exc:
            with self.lock:
                self.infra_errors.append(f"{job.kind}: {exc}")
                self.done += 1
            return
        elapsed = time.perf_counter() - started
        problem = job.check(result)
        with self.lock:
            self.done += 1
            stats = self.by_kind[job.kind]
            stats["hostile"] = job.hostile
            stats["runs"] += 1
            stats["timed_out"] += result.timed_out
            stats["latencies"].append(elapsed)
            if problem:
                stats["problems"] += 1
                (self.hostile_failures if job.hostile else self.wrong_normal).append(f"{job.kind}: {problem}")

    @staticmethod
    def _session_job(sandbox: DockerSandbox, job: Job) -> ExecResult:
        """Run a session kind: a first cell, the hostile cell, then a cell that must answer (its
        failure is reported in the hostile cell's stdout, which the check then rejects)."""
        with sandbox.session() as session:
            session.run("x = 1")
            result = session.run(job.code, timeout=job.timeout)
            after = session.run("print('answers')", timeout=NORMAL_TIMEOUT)
        if after.stdout != "answers\n":
            return ExecResult(stdout=f"the next cell failed: {after}", stderr="", exit_code=0)
        return result

    def batch(self, sandbox: DockerSandbox, jobs: list[Job]) -> None:
        index = 0
        lock = threading.Lock()

        def worker() -> None:
            nonlocal index
            while not self.stop.is_set():
                with lock:
                    if index >= len(jobs):
                        return
                    job = jobs[index]
                    index += 1
                self.run_job(sandbox, job)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.args.concurrency)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        finally:
            if any(t.is_alive() for t in threads):
                self.stop.set()
                for thread in threads:
                    thread.join(timeout=30)

    def checkpoint(
        self, sandbox: DockerSandbox, client: Any, owner: str, window_runs: int, window_s: float, elapsed: float
    ) -> dict[str, Any]:
        idle_wait = wait_idle(sandbox)
        stats = sandbox.ping()
        self.container_ids.update(labelled_containers(client, owner))
        leaks = leak_counts(probe_all(sandbox))
        point = {
            "runs": self.done,
            "elapsed_s": elapsed,
            "window_runs": window_runs,
            "window_s": window_s,
            "window_runs_per_s": window_runs / window_s if window_s else None,
            "rss_kb": [s.get("rss_kb") for s in stats],
            "executor_runs": [s.get("runs") for s in stats],
            "leaks": leaks,
            "infra_errors": len(self.infra_errors),
            "wrong_normal": len(self.wrong_normal),
            "hostile_failures": len(self.hostile_failures),
            "load": os.getloadavg()[0],
            "idle_wait_s": idle_wait,
        }
        self.checkpoints.append(point)
        rate = f"{point['window_runs_per_s']:.1f}" if window_s else "-"
        print(
            f"[soak] {self.done} runs, {rate} runs/s, rss {point['rss_kb']} kB, "
            f"leaked procs {leaks['procs']} files {leaks['files']} sysv {leaks['sysv']}, "
            f"infra errors {len(self.infra_errors)}, wrong {len(self.wrong_normal)}, "
            f"hostile not contained {len(self.hostile_failures)}",
            file=sys.stderr,
            flush=True,
        )
        return point

    def run(self) -> dict[str, Any]:
        args = self.args
        client = _docker_client()
        owner = _owner()
        before_all = len(labelled_containers(client))
        options: dict[str, Any] = {}
        for name in ("image", "containers", "slots"):
            if getattr(args, name) is not None:
                options[name] = getattr(args, name)
        sandbox = ObservedPool(**options)
        report: dict[str, Any] = {"interrupted": False}
        try:
            args.containers = sandbox.config.containers
            self.container_ids.update(labelled_containers(client, owner))
            initial_ids = set(self.container_ids)
            warm = [normal_job(self.rng) for _ in range(2 * sandbox.total_slots)]
            self.batch(sandbox, warm)  # warm-up, counted
            t_start = time.perf_counter()
            baseline = self.checkpoint(sandbox, client, owner, 0, 0.0, 0.0)
            remaining = args.runs - self.done
            while remaining > 0 and not self.stop.is_set():
                size = min(args.check_every, remaining)
                jobs = [
                    hostile_job(self.rng, args.skip) if self.rng.random() < args.hostile else normal_job(self.rng)
                    for _ in range(size)
                ]
                t0 = time.perf_counter()
                self.batch(sandbox, jobs)
                t1 = time.perf_counter()
                self.checkpoint(sandbox, client, owner, size, t1 - t0, t1 - t_start)
                remaining -= size
            total_s = sum(point["window_s"] for point in self.checkpoints)
            report.update(
                pool={
                    "image": sandbox.config.image,
                    "containers": sandbox.config.containers,
                    "slots_per_container": sandbox.config.slots_per_container(),
                    "total_slots": sandbox.total_slots,
                },
                baseline=baseline,
                replaced=len(self.container_ids - initial_ids),
                retired_reasons=list(sandbox.retired),
                runs_timed=sum(point["window_runs"] for point in self.checkpoints),
                busy_seconds=total_s,
            )
        except KeyboardInterrupt:
            self.stop.set()
            report["interrupted"] = True
        finally:
            sandbox.close()
        ours_left = labelled_containers(client, owner)
        after_all = len(labelled_containers(client))
        report.update(containers_left=len(ours_left), labelled_before=before_all, labelled_after=after_all)
        return report


def summarise(soak: Soak, report: dict[str, Any]) -> tuple[str, bool]:
    args = soak.args
    points = soak.checkpoints
    final = points[-1]
    slow = [r for r in report["retired_reasons"] if "no answer from the executor" in r]
    died = [r for r in report["retired_reasons"] if r not in slow]
    base = report["baseline"]
    rss_growth = max((f - b) for f, b in zip(final["rss_kb"], base["rss_kb"])) if final["rss_kb"] else 0
    leak_max = {key: max(p["leaks"][key] for p in points) for key in ("procs", "files", "sysv", "zombies")}
    probe_errors = sum(len(p["leaks"]["probe_errors"]) for p in points)
    normal_lat = [x for s in soak.by_kind.values() if not s["hostile"] for x in s["latencies"]]
    throughput = report["runs_timed"] / report["busy_seconds"] if report["busy_seconds"] else 0.0
    checks = [
        ("wrong outputs of normal runs", len(soak.wrong_normal), len(soak.wrong_normal) == 0),
        ("hostile runs not contained as expected", len(soak.hostile_failures), not soak.hostile_failures),
        ("infra errors (SandboxError)", len(soak.infra_errors), not soak.infra_errors),
        ("containers retired because the executor died (hostile code must never cause this)", len(died), not died),
        ("leaked processes (max over probes)", leak_max["procs"], leak_max["procs"] == 0),
        ("leaked files in /tmp, /dev/shm, scratch (max over probes)", leak_max["files"], leak_max["files"] == 0),
        ("leaked SysV IPC objects (max over probes)", leak_max["sysv"], leak_max["sysv"] == 0),
        ("probe failures", probe_errors, probe_errors == 0),
        (
            f"executor RSS growth, kB (limit {args.rss_growth_mb} MiB)",
            rss_growth,
            rss_growth <= args.rss_growth_mb * 1024,
        ),
        ("pool containers left after close", report["containers_left"], report["containers_left"] == 0),
    ]
    ok = all(passed for _, _, passed in checks)
    notes = [  # reported, not failed: the pool recovered by design, but every retirement is worth seeing
        ("containers retired as too slow (no answer within timeout + grace; CPU overload)", len(slow)),
        ("new pool containers seen during the soak (replacements)", report["replaced"]),
    ]
    pool = report["pool"]
    lines = [
        "# r1ci sandbox soak",
        "",
        f"- pool: image `{pool['image']}`, {pool['containers']} containers x {pool['slots_per_container']} slots; "
        f"{soak.done} runs at concurrency {args.concurrency}, about {args.hostile:.0%} hostile, seed {args.seed}"
        + (f", without {', '.join(sorted(args.skip))}" if args.skip else ""),
        f"- machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end; figures are noisy "
        "when other work shares the CPUs",
        "",
        "## Checkpoints (pool idle during each probe)",
        "",
        "| runs | elapsed s | runs/s (window) | executor RSS kB | leaked procs | zombies | leaked files "
        "| SysV objects | infra errors | wrong normal | hostile not contained | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        lk = p["leaks"]
        rate = f"{p['window_runs_per_s']:.1f}" if p["window_s"] else "- (after warm-up)"
        lines.append(
            f"| {p['runs']} | {p['elapsed_s']:.0f} | {rate} | "
            f"{' / '.join(map(str, p['rss_kb']))} | {lk['procs']} | {lk['zombies']} | {lk['files']} | "
            f"{lk['sysv']} | {p['infra_errors']} | {p['wrong_normal']} | {p['hostile_failures']} | "
            f"{p['load']:.1f} |"
        )
    lines += [
        "",
        "## By program",
        "",
        "| program | hostile | runs | wrong / not contained | timed out | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, s in sorted(soak.by_kind.items(), key=lambda item: (item[1]["hostile"], item[0])):
        lines.append(
            f"| {kind} | {'yes' if s['hostile'] else 'no'} | {s['runs']} | {s['problems']} | {s['timed_out']} | "
            f"{percentile(s['latencies'], 50) * 1e3:.0f} | {percentile(s['latencies'], 99) * 1e3:.0f} |"
        )
    lines += ["", "## Summary", "", "| check | value | verdict |", "|---|---|---|"]
    for name, value, passed in checks:
        lines.append(f"| {name} | {value} | {'ok' if passed else 'FAIL'} |")
    lines += [f"| {name} | {value} | {'ok' if not value else 'warning'} |" for name, value in notes]
    lines += [
        f"| throughput over the timed runs (probes excluded) | {throughput:.1f} runs/s | |",
        f"| normal-run latency p50 / p99 | {percentile(normal_lat, 50) * 1e3:.0f} / "
        f"{percentile(normal_lat, 99) * 1e3:.0f} ms | |",
        f"| r1ci.sandbox containers on the daemon before / after (all owners) | "
        f"{report['labelled_before']} / {report['labelled_after']} | |",
    ]
    for title, items in (
        ("Containers retired by the pool (reason)", report["retired_reasons"]),
        ("Wrong outputs of normal runs", soak.wrong_normal),
        ("Hostile runs not contained as expected", soak.hostile_failures),
        ("Infrastructure errors", soak.infra_errors),
    ):
        if items:
            lines += ["", f"### {title} (first 10 of {len(items)})", ""] + [f"- `{x[:400]}`" for x in items[:10]]
    if leak_max["procs"] or leak_max["files"] or leak_max["sysv"]:
        worst = max(points, key=lambda p: p["leaks"]["procs"] + p["leaks"]["files"] + p["leaks"]["sysv"])
        lines += [
            "",
            f"### Leaks seen at {worst['runs']} runs",
            "",
            f"`{json.dumps(worst['leaks']['details'])[:1500]}`",
        ]
    lines += ["", f"Result: {'PASS' if ok else 'FAIL'}"]
    return "\n".join(lines) + "\n", ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=None, help="total runs (default 10000; 300 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 runs, a checkpoint every 100")
    parser.add_argument("--concurrency", type=int, default=8, help="host threads (default 8)")
    parser.add_argument("--hostile", type=float, default=0.2, help="fraction of hostile programs (default 0.2)")
    parser.add_argument(
        "--check-every", type=int, default=None, help="runs between checkpoints (default 1000; 100 with --quick)"
    )
    parser.add_argument("--image", default=None, help="image tag (default: $R1CI_SANDBOX_IMAGE or r1ci-sandbox:latest)")
    parser.add_argument("--containers", type=int, default=None, help="pool containers (default: the pool's default)")
    parser.add_argument("--slots", type=int, default=None, help="slots per container (default: the pool's default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the program mix")
    parser.add_argument(
        "--rss-growth-mb",
        type=float,
        default=32.0,
        help="executor RSS growth over the soak that counts as a leak (default 32 MiB)",
    )
    parser.add_argument(
        "--skip",
        default="",
        metavar="KIND,...",
        help=f"hostile programs to leave out (of: {', '.join(sorted(HOSTILE))})",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    args.skip = frozenset(filter(None, args.skip.split(",")))
    if args.skip - set(HOSTILE) or args.skip >= set(HOSTILE):
        parser.error(f"--skip: unknown hostile program or nothing left: {', '.join(sorted(args.skip))}")
    args.runs = args.runs or (300 if args.quick else 10_000)
    args.check_every = args.check_every or (100 if args.quick else 1000)
    if args.runs < 1 or args.check_every < 1 or args.concurrency < 1 or not 0 <= args.hostile <= 1:
        parser.error("--runs, --check-every and --concurrency must be >= 1 and --hostile in [0, 1]")
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    soak = Soak(args)
    try:
        report = soak.run()
    except SandboxError as exc:
        print(f"soak: the sandbox failed to start: {exc}", file=sys.stderr)
        return 1
    if report["interrupted"] or len(soak.checkpoints) < 1 or "pool" not in report:
        print(
            f"soak: interrupted after {soak.done} runs; pool containers left: {report['containers_left']}",
            file=sys.stderr,
        )
        return 130
    text, ok = summarise(soak, report)
    print(text, flush=True)
    if args.json:
        data = {
            **report,
            "args": {**vars(args), "skip": sorted(args.skip)},
            "checkpoints": soak.checkpoints,
            "ok": ok,
            "by_kind": {
                k: {
                    **v,
                    "latencies": None,
                    "p50_ms": percentile(v["latencies"], 50) * 1e3,
                    "p99_ms": percentile(v["latencies"], 99) * 1e3,
                }
                for k, v in soak.by_kind.items()
            },
            "wrong_normal": soak.wrong_normal,
            "hostile_failures": soak.hostile_failures,
            "infra_errors": soak.infra_errors,
        }
        Path(args.json).write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
