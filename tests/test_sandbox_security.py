"""Adversarial tests of the docker sandbox: the attack catalogue of
docs/research/anchors_sandbox.md section 5 (A1-A37; A38 chaos and A39 soak live elsewhere), plus
attacks found while writing these: X1 a directory tree 1200 deep, X2 a path longer than PATH_MAX,
X3 a private subtree inside another run's world-writable directory, X4 an inode (file or hard link)
flood, X7 signal state inherited from the executor; and the containment classes of issue 9
(`test_c1_*` to `test_c8_*`, at the end): leftovers that outlive a run in any state, hangs at a
timeout, the session channel, the scratch inode, memory inherited from other runs, shared /tmp,
/dev/shm, IPC and sockets, smaller holes, and program failures that must stay the program's result.

Every test submits its attack through the real pool (`docker_sandbox`: 1 container x 4 slots), asserts
the contained outcome (exit code, timeout, truncation, and errno names or counts that the attack
prints to prove each denial), then probes every slot at once (`tests/sandbox_probe.py`; each slot
has its own namespaces, so a probe sees only its own): no process of the slot's uid alive, the same
processes outside the slot as in a fresh container, nothing in /tmp, /dev/shm, /dev/mqueue,
/dev/pts or the scratch directory, which must be a fresh inode, no SysV IPC object, no socket, a
clean environment, fresh module state and fresh random numbers, and the same container as before
the attack (an attack that kills the executor costs a container: the host would see an
infrastructure error).
The executor answers a run as soon as its program exits and cleans the slot afterwards, so the probe
first waits (`settle`, via ping's busy count) for every slot to be clean, and fails if that takes
more than a few seconds.

Decisions recorded here:
* A16: /proc/self/mountinfo is readable and shows the host's overlay layer paths. Accepted: it leaks
  the Docker data-root layout, no secret, and masking it needs gVisor or a LSM policy. What the test
  holds instead is the mount table: read-only root, host files only as Docker's read-only
  resolv.conf/hostname/hosts/docker-init, no docker.sock, and writable mounts only where expected.
* A33: every run has its own network namespace, so concurrent runs cannot reach each other over
  loopback or abstract unix sockets, and a listener dies with its run (`test_c6_*`).
* A11: every run has its own /tmp, /dev/shm and scratch tmpfs, so filling one never affects a
  neighbour, and the space comes back after the run.
* A34: SysV IPC and POSIX message queues are denied to programs (see the test's docstring).
* A29: bystander results must be right; their latency is only bounded loosely (CPU is shared).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest
from sandbox_probe import all_problems, assert_probe_clean, baseline_of, probe_all

from r1ci_env.sandbox import ExecResult
from r1ci_env.sandbox.base import RESET_NOTE

pytestmark = pytest.mark.docker

CAP = 64 * 1024  # PoolConfig.max_output_bytes, the default the session pool uses
MAX_FILE = 16 * 1024 * 1024  # PoolConfig.max_file_bytes
BASELINE: dict = {}  # the first probe of a fresh container: root processes and fresh module state
RNG_SEEN: set = set()  # every random number a probe drew: each must be new (A30)
# The pool's ping right after the last passing `assert_clean`. If it is unchanged when the next test
# starts, nothing ran in between, so that test's own probe before the attack would repeat the last one.
LAST_CLEAN: dict = {}


# ---- harness ---------------------------------------------------------------------------------


def recycle(sandbox) -> None:
    """Replace the pool's containers (used when an earlier failing test left residue behind)."""
    docker = pytest.importorskip("docker")
    from r1ci_env.sandbox.docker_pool import OWNER_LABEL

    client = docker.from_env()
    owner = f"{socket.gethostname()}:{os.getpid()}"
    for container in client.containers.list(filters={"label": f"{OWNER_LABEL}={owner}"}, ignore_removed=True):
        try:
            container.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
    time.sleep(0.5)
    sandbox.ping()  # retires the dead containers and starts replacements


def settle(sandbox, limit: float = 10.0) -> float:
    """Wait until no executor has a slot busy: the executor answers a run as soon as its program
    exits and cleans the slot afterwards, so an attack's leftovers may outlive its reply briefly.
    Returns how long that took; fails if cleaning takes longer than `limit` seconds."""
    started = time.monotonic()
    while True:
        stats = sandbox.ping()
        if stats and all(s.get("busy", 0) == 0 for s in stats):
            return time.monotonic() - started
        assert time.monotonic() - started < limit, f"slots still busy (being cleaned) after {limit} s: {stats}"
        time.sleep(0.02)


class Box:
    """The pool plus the container identity seen before the attack."""

    def __init__(self, sandbox, host: str) -> None:
        self.sandbox = sandbox
        self.host = host

    def run(self, code: str, timeout: float = 3.0) -> ExecResult:
        return self.sandbox.run(code, timeout=timeout)

    def json(self, code: str, timeout: float = 3.0) -> dict:
        """Run an attack that prints one JSON object; it must exit 0."""
        result = self.run(code, timeout)
        assert result.exit_code == 0 and not result.timed_out, result
        return json.loads(result.stdout.splitlines()[-1])

    def together(self, jobs: list[tuple[str, float]], stagger: float = 0.2) -> list[ExecResult]:
        """Run several programs at once (one thread each, started `stagger` seconds apart)."""
        return run_together(self.sandbox, jobs, stagger)

    def assert_clean(self) -> list[dict]:
        """The probe, in every slot: the container is as fresh as before the attack, once its slots
        are clean, and it is still the same container."""
        settle(self.sandbox)
        states = probe_all(self.sandbox, self.sandbox.total_slots)
        assert not all_problems(states, BASELINE), all_problems(states, BASELINE)
        assert_probe_clean(self.sandbox)
        assert {state["host"] for state in states} == {self.host}, "the attack cost the container"
        for state in states:
            fresh_random(state)
        LAST_CLEAN.update(fingerprint=pool_fingerprint(self.sandbox), host=self.host)
        return states


def pool_fingerprint(sandbox) -> list[tuple]:
    """Which containers serve the pool and how many runs and sessions each has seen (any run changes it)."""
    return [(s.get("engine"), s.get("runs"), s.get("sessions")) for s in sandbox.ping()]


def run_together(sandbox, jobs: list[tuple[str, float]], stagger: float = 0.2) -> list[ExecResult]:
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []

    def work(index: int, code: str, timeout: float) -> None:
        try:
            results[index] = sandbox.run(code, timeout=timeout)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, code, timeout)) for i, (code, timeout) in enumerate(jobs)]
    for thread in threads:
        thread.start()
        time.sleep(stagger)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def fresh_random(state: dict) -> None:
    values = tuple(state["rng"])
    assert not set(values) & RNG_SEEN, f"a probe drew random numbers an earlier run drew: {values}"
    RNG_SEEN.update(values)


@pytest.fixture
def box(docker_sandbox):
    """The session pool, checked clean before the test (recycled if an earlier failure left residue);
    the check is skipped when the previous test ended with a passing `assert_clean` and nothing ran since."""
    try:
        settle(docker_sandbox)
    except AssertionError:
        pass  # the probe below finds what is left, and the pool is recycled
    last = dict(LAST_CLEAN)
    LAST_CLEAN.clear()
    if last and pool_fingerprint(docker_sandbox) == last["fingerprint"]:
        return Box(docker_sandbox, last["host"])  # the last test's final probe saw it clean; nothing ran since
    slots = docker_sandbox.total_slots
    states = probe_all(docker_sandbox, slots)
    if all_problems(states, BASELINE or None):
        recycle(docker_sandbox)
        states = probe_all(docker_sandbox, slots)
        assert not all_problems(states, BASELINE or None), all_problems(states, BASELINE or None)
    if not BASELINE:
        BASELINE.update(baseline_of(states))
    for state in states:
        fresh_random(state)
    settle(docker_sandbox)  # the probes' slots are cleaned after their replies
    return Box(docker_sandbox, states[0]["host"])


def errno_json(body: str) -> str:
    """Attack code with an `attempt(name, fn)` helper that records errno names into `out`."""
    return (
        "import errno, json, os\n"
        "out = {}\n"
        "def attempt(name, fn):\n"
        "    try:\n"
        "        fn()\n"
        "        out[name] = 'ALLOWED'\n"
        "    except OSError as exc:\n"
        "        out[name] = errno.errorcode.get(exc.errno, str(exc.errno))\n"
        "    except ValueError as exc:\n"
        "        out[name] = 'ValueError'\n"
        "def root_pids():\n"
        "    pids = []\n"
        "    for name in os.listdir('/proc'):\n"
        "        try:\n"
        "            uid = open(f'/proc/{name}/status').read().split('Uid:')[1].split()[0]\n"
        "            if name.isdigit() and uid in ('0', '65534'):  # the keeper, and all outside the slot\n"
        "                pids.append(int(name))\n"
        "        except OSError:\n"
        "            pass  # gone meanwhile\n"
        "    return sorted(pids)\n" + body + "\nprint(json.dumps(out))\n"
    )


FIND_NEIGHBOUR = """
import errno, os
def neighbours():
    '''Every process outside our slot (uid 65534 to us): the victim among them, and tini, the executor,
    the keepers and their idle spares, which no run may touch either.'''
    found = []
    for name in os.listdir('/proc'):
        try:
            with open(f'/proc/{name}/status') as fh:
                if fh.read().split('Uid:')[1].split()[0] == '65534':
                    found.append(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return found
def attempt_all(name, fn, pids):
    '''Try fn(pid) on every pid; out[name]: the sorted set of outcomes (errno names, or ALLOWED).'''
    seen = set()
    for pid in pids:
        try:
            fn(pid)
            seen.add('ALLOWED')
        except OSError as exc:
            seen.add(errno.errorcode.get(exc.errno, str(exc.errno)))
    out[name] = sorted(seen)
"""

VICTIM = """
import os, time
open('secret.txt', 'w').write('victim-secret')
print(os.getpid(), os.getuid(), os.getcwd(), flush=True)
time.sleep(2)
print('victim done')
"""


def check_victim(result: ExecResult) -> tuple[int, int, str]:
    """The victim of a cross-run attack finished untouched; returns its (pid, uid, cwd)."""
    assert result.exit_code == 0 and not result.timed_out, result
    first, last = result.stdout.splitlines()
    assert last == "victim done"
    pid, uid, cwd = first.split()
    return int(pid), int(uid), cwd


# ---- A1-A3: time and processes ------------------------------------------------------------------


def test_a1_infinite_loop_is_killed_at_the_wall_timeout(box):
    result = box.run("while True: pass", timeout=1)
    assert result.timed_out and result.exit_code == -9
    assert 1.0 <= result.duration < 3.0
    assert result.stdout == "" and result.stderr == ""
    box.assert_clean()


@pytest.mark.parametrize("wait", ["sleep", "spin"])
def test_a2_ignoring_catchable_signals_does_not_escape_the_timeout(box, wait):
    code = (
        "import signal, time\n"
        "for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGUSR1):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "signal.alarm(1)\n"
        "print('armed', flush=True)\n" + ("time.sleep(100)\n" if wait == "sleep" else "while True: pass\n")
    )
    result = box.run(code, timeout=1)
    assert result.timed_out and result.exit_code == -9
    assert result.stdout == "armed\n"  # output printed before the kill comes back
    assert result.duration < 3.0
    box.assert_clean()


FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"


def test_a3_fork_bomb_is_capped_and_killed(box):
    result = box.run(FORK_BOMB, timeout=1.5)
    assert result.timed_out and result.exit_code == -9
    box.assert_clean()


def test_a3_detached_fork_bomb_outliving_its_parent_is_killed(box):
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n" + "\n".join("    " + line for line in FORK_BOMB.splitlines()) + "\nprint('parent leaves')\n"
    )
    result = box.run(code, timeout=3)
    assert result.exit_code == 0 and not result.timed_out and result.stdout == "parent leaves\n"
    box.assert_clean()
    time.sleep(0.3)
    box.assert_clean()  # nothing respawned


def test_a4_thread_bomb_hits_a_cap(box):
    code = (
        "import threading\n"
        "ev, n = threading.Event(), 0\n"
        "try:\n"
        "    for _ in range(100000):\n"
        "        threading.Thread(target=ev.wait, daemon=True).start()\n"
        "        n += 1\n"
        "except RuntimeError as exc:\n"
        "    print('capped', n, exc)\n"
        "ev.set()\n"
    )
    result = box.run(code)
    assert result.exit_code == 0 and not result.timed_out, result
    word, count, message = result.stdout.split(" ", 2)
    # RLIMIT_AS (thread stacks and malloc arenas) or RLIMIT_NPROC (64 per slot uid) stops it
    assert word == "capped" and 0 < int(count) < 64 and message.strip() == "can't start new thread"
    box.assert_clean()


# ---- A5-A11: memory, output and disk --------------------------------------------------------------


def test_a5_huge_allocation_raises_memory_error(box):
    result = box.run("x = bytearray(4 << 30)")
    assert result.exit_code == 1 and not result.timed_out
    assert result.stderr.rstrip().endswith("MemoryError")
    assert result.duration < 3.0  # about 0.03 s: no page is touched
    box.assert_clean()


def test_a6_growing_allocation_raises_memory_error(box):
    result = box.run("chunks = []\nwhile True:\n    chunks.append(b'x' * (50 << 20))\n", timeout=10)
    assert result.exit_code == 1 and not result.timed_out  # RLIMIT_AS (1 GiB) < the container's memory
    assert result.stderr.rstrip().endswith("MemoryError")
    box.assert_clean()


def test_a7_numpy_allocation_raises_array_memory_error(box):
    result = box.run("import numpy as np\nnp.ones(1 << 28)\n")
    assert result.exit_code == 1 and not result.timed_out
    assert "_ArrayMemoryError: Unable to allocate 2.00 GiB" in result.stderr
    box.assert_clean()


def assert_capped(text: str, fill: str) -> None:
    assert len(text) <= CAP + 100
    head, tail = text.split(" bytes omitted ...]\n")
    assert head.startswith(fill * 100) and tail.strip(fill + "\n") == ""


@pytest.mark.parametrize("flood", ["print_loop", "one_huge_write"])
def test_a8_a9_output_floods_are_capped(box, flood):
    code = {
        "print_loop": "while True:\n    print('x' * 10000)\n",
        "one_huge_write": "import sys\nsys.stdout.write('x' * 10**8)\n",
    }[flood]
    result = box.run(code, timeout=5)
    # the 16 MiB RLIMIT_FSIZE on the output memfd stops the writer with EFBIG; 64 KiB come back
    assert result.exit_code == 1 and not result.timed_out and result.truncated
    assert result.stderr.rstrip().endswith("OSError: [Errno 27] File too large")
    assert_capped(result.stdout, "x")
    box.assert_clean()


def test_a9_output_file_grown_behind_pythons_back_is_capped(box):
    result = box.run(f"import os\nos.ftruncate(1, {MAX_FILE})\nos.ftruncate(2, {MAX_FILE})\n")
    assert result.exit_code == 0 and result.truncated
    assert_capped(result.stdout, "\0")
    assert_capped(result.stderr, "\0")
    box.assert_clean()


def test_a10_big_file_in_the_working_directory_hits_the_file_size_limit(box):
    code = errno_json(
        "written = 0\n"
        "def fill():\n"
        "    global written\n"
        "    with open('big.bin', 'wb') as fh:\n"
        "        for _ in range(200):\n"
        "            written += fh.write(b'x' * (1 << 20))\n"
        "attempt('write', fill)\n"
        "out['written'] = written\n"
    )
    out = box.json(code)
    assert out == {"write": "EFBIG", "written": MAX_FILE}
    box.assert_clean()


def test_a10_many_files_fill_only_the_slots_own_scratch(box):
    code = errno_json(
        "count = 0\n"
        "def fill():\n"
        "    global count\n"
        "    for i in range(100):\n"
        "        with open(f'part{i}', 'wb') as fh:\n"
        "            fh.write(b'x' * (8 << 20))\n"
        "        count += 1\n"
        "attempt('fill', fill)\n"
        "out['full_files'] = count\n"
    )
    out = box.json(code, timeout=5)
    assert out == {"fill": "ENOSPC", "full_files": 8}  # 8 x 8 MiB fill the 64 MiB scratch tmpfs
    box.assert_clean()


def test_a11_filling_tmp_is_undone_after_the_run(box):
    code = errno_json(
        "count = 0\n"
        "def fill():\n"
        "    global count\n"
        "    while True:\n"
        "        with open(f'/tmp/f{count}', 'wb') as fh:\n"
        "            fh.write(b'x' * 65536)\n"
        "        count += 1\n"
        "attempt('fill', fill)\n"
        "out['count'] = count\n"
    )
    out = box.json(code, timeout=5)
    assert out["fill"] == "ENOSPC" and 100 < out["count"] <= 256  # /tmp is 16 MiB
    box.assert_clean()
    after = box.run("open('/tmp/big', 'wb').write(b'x' * (12 << 20))\nprint('ok')")
    assert after.exit_code == 0 and after.stdout == "ok\n"  # the space came back
    box.assert_clean()


def test_a11_filling_ones_scratch_does_not_affect_a_concurrent_run(box):
    filler = errno_json(
        "def fill():\n"
        "    for i in range(100):\n"
        "        with open(f'part{i}', 'wb') as fh:\n"
        "            fh.write(b'x' * (8 << 20))\n"
        "attempt('fill', fill)\n"
        "import time; time.sleep(1.5)\n"
    )
    neighbour = "open('data', 'wb').write(b'y' * (12 << 20))\nimport os\nprint(os.path.getsize('data'))\n"
    full, other = box.together([(filler, 5), (neighbour, 5)], stagger=0.7)
    assert json.loads(full.stdout) == {"fill": "ENOSPC"}
    assert other.exit_code == 0 and other.stdout == f"{12 << 20}\n"
    box.assert_clean()


# ---- A12-A17: filesystem, network and information -------------------------------------------------


WRITE_TARGETS = {
    "/usr/lib/evil": "EROFS",
    "/evil": "EROFS",
    "/sandbox/evil": "EACCES",
    "/sys/kernel/evil": "EROFS",
    "/etc/passwd": "EACCES",
    "/etc/hosts": "EACCES",
    "/root/evil": "EACCES",
    "/dev/evil": "EACCES",
    "/proc/sys/kernel/hostname": "EACCES",
}


def test_a12_writes_outside_the_scratch_areas_fail(box):
    body = "for path in %r:\n    attempt(path, lambda: open(path, 'a').close())\n" % sorted(WRITE_TARGETS)
    body += (
        "attempt('chmod /usr/bin/python3', lambda: os.chmod('/usr/bin/python3', 0o777))\n"
        "attempt('mkdir /usr/evil', lambda: os.mkdir('/usr/evil'))\n"
        "attempt('rename /etc/hosts', lambda: os.rename('/etc/hosts', '/etc/evil'))\n"
        "attempt('chmod /tmp', lambda: os.chmod('/tmp', 0o777))\n"
        "attempt('mknod', lambda: os.mknod('mem', 0o600 | 0o020000, os.makedev(1, 1)))\n"
        "mine = os.getcwd()\n"
        "for slot in sorted(os.listdir('/sandbox')):\n"
        "    if '/sandbox/' + slot != mine:\n"
        "        attempt('other slot', lambda: open(f'/sandbox/{slot}/evil', 'w'))\n"
    )
    out = box.json(errno_json(body))
    assert out == {
        **WRITE_TARGETS,
        "chmod /usr/bin/python3": "EROFS",
        "mkdir /usr/evil": "EROFS",
        "rename /etc/hosts": "EROFS",
        "chmod /tmp": "ALLOWED",  # the run's own /tmp, a tmpfs mounted for this run alone
        "mknod": "EPERM",
        "other slot": "EACCES",  # an empty, root-owned mount point: the other slot's tmpfs is not here
    }
    box.assert_clean()


def test_a13_no_network_beyond_loopback(box):
    body = (
        "import socket\n"
        "attempt('tcp', lambda: socket.create_connection(('1.1.1.1', 80), timeout=2))\n"
        "attempt('tcp6', lambda: socket.create_connection(('2606:4700:4700::1111', 80), timeout=2))\n"
        "attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53)))\n"
        "attempt('raw', lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))\n"
        "attempt('packet', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))\n"
        "try:\n"
        "    socket.getaddrinfo('example.com', 80)\n"
        "    out['dns'] = 'ALLOWED'\n"
        "except socket.gaierror:\n"
        "    out['dns'] = 'gaierror'\n"
        "out['interfaces'] = [name for _, name in socket.if_nameindex()]\n"
    )
    out = box.json(errno_json(body), timeout=6)
    assert out == {
        "tcp": "ENETUNREACH",
        "tcp6": "ENETUNREACH",
        "udp": "ENETUNREACH",
        "raw": "EPERM",
        "packet": "EPERM",
        "dns": "gaierror",
        "interfaces": ["lo"],
    }
    box.assert_clean()


def test_a14_secrets_of_the_image_are_unreadable(box):
    body = (
        "attempt('/etc/shadow', lambda: open('/etc/shadow').read())\n"
        "attempt('/etc/gshadow', lambda: open('/etc/gshadow').read())\n"
        "attempt('/root', lambda: os.listdir('/root'))\n"
    )
    out = box.json(errno_json(body))
    assert out == {"/etc/shadow": "EACCES", "/etc/gshadow": "EACCES", "/root": "EACCES"}
    box.assert_clean()


def test_a15_root_processes_environment_and_memory_are_unreadable(box):
    body = (
        "roots = root_pids()\n"
        "out['roots'] = roots\n"
        "out['ppid'] = os.getppid()\n"
        "for pid in roots:\n"
        "    for what in ('environ', 'mem', 'maps', 'auxv', 'stack', 'syscall', 'io'):\n"
        "        attempt(f'{pid}/{what}', lambda: open(f'/proc/{pid}/{what}', 'rb').read(1))\n"
        "    for what in ('fd', 'cwd', 'root', 'map_files'):\n"
        "        attempt(f'{pid}/{what}', lambda: os.listdir(f'/proc/{pid}/{what}'))\n"
    )
    out = box.json(errno_json(body))
    roots, ppid = out.pop("roots"), out.pop("ppid")
    assert 1 in roots and ppid in roots and len(roots) >= 3  # tini, executor, keepers
    assert len(out) == 11 * len(roots)
    assert set(out.values()) == {"EACCES"}, out
    box.assert_clean()


# Writable mounts a run may see; anything else writable (a host bind mount, docker.sock) is a hole.
# /sandbox: root's mount points (mode 0755); /dev/mqueue: the container's, covered by a read-only tmpfs.
WRITABLE_MOUNTS = {
    "/proc",
    "/dev",
    "/dev/pts",
    "/dev/mqueue",
    "/sandbox",
    "/dev/shm",
    "/tmp",
    "/sys/fs/cgroup",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/latency_stats",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/kcore",
    "/proc/scsi",
}
HOST_FILES = {"/etc/resolv.conf", "/etc/hostname", "/etc/hosts", "/usr/sbin/docker-init", "/sbin/docker-init"}


def test_a16_mountinfo_is_readable_but_the_mount_table_is_tight(box):
    """Decision: the overlay paths in mountinfo are an accepted leak; the mount table is asserted."""
    result = box.run("print(open('/proc/self/mountinfo').read())")
    assert result.exit_code == 0
    mounts = []
    for line in result.stdout.strip().splitlines():
        fields = line.split()
        sep = fields.index("-")
        mounts.append(
            {
                "point": fields[4],
                "opts": fields[5].split(","),
                "fstype": fields[sep + 1],
                "source": fields[sep + 2],
                "root": fields[3],
            }
        )
    assert "docker.sock" not in result.stdout
    root = next(m for m in mounts if m["point"] == "/")
    assert root["fstype"] == "overlay" and "ro" in root["opts"]
    writable = {m["point"] for m in mounts if "rw" in m["opts"]}
    unexpected = {p for p in writable - WRITABLE_MOUNTS if not p.startswith("/sandbox/")}
    assert not unexpected, f"unexpected writable mounts: {unexpected}"
    for m in mounts:
        if m["source"].startswith("/dev/") and m["fstype"] not in ("devpts", "mqueue"):  # a host block device
            assert m["point"] in HOST_FILES and "ro" in m["opts"], m
    box.assert_clean()


def test_a17_the_executor_channel_is_out_of_reach(box):
    body = (
        "fds = sorted(os.listdir('/proc/self/fd'))[:-1]\n"  # the last one is the listing itself
        "out['fds'] = {fd: os.readlink(f'/proc/self/fd/{fd}') for fd in fds}\n"
        "ppid = os.getppid()\n"
        "for fd in range(3):\n"
        "    attempt(f'executor fd {fd}', lambda: open(f'/proc/{ppid}/fd/{fd}', 'rb'))\n"
        "attempt('executor fds', lambda: os.listdir(f'/proc/{ppid}/fd'))\n"
        "with open('/proc/net/unix') as fh:\n"
        "    out['unix sockets'] = fh.read().splitlines()[1:]\n"
    )
    out = box.json(errno_json(body))
    assert out["fds"] == {"0": "/dev/null", "1": "/memfd:stdout (deleted)", "2": "/memfd:stderr (deleted)"}
    assert {k: v for k, v in out.items() if k.startswith("executor")} == {
        "executor fd 0": "EACCES",
        "executor fd 1": "EACCES",
        "executor fd 2": "EACCES",
        "executor fds": "EACCES",
    }
    assert out["unix sockets"] == []  # the executor listens on no socket a run could connect to
    box.assert_clean()


# ---- A18-A22: signals and leftover processes and files -------------------------------------------


def test_a18_signalling_the_executor_and_other_root_processes_is_denied(box):
    body = (
        "import signal\n"
        "for pid in root_pids():\n"
        "    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):\n"
        "        attempt(f'{pid}/{sig.name}', lambda: os.kill(pid, sig))\n"
        "attempt('ppid/SIGKILL', lambda: os.kill(os.getppid(), signal.SIGKILL))\n"
    )
    out = box.json(errno_json(body))
    assert len(out) >= 10 and set(out.values()) == {"EPERM"}, out
    box.assert_clean()


def test_a19_kill_minus_one_only_kills_the_runs_own_processes(box):
    code = (
        "import os, signal, time\n"
        "kids = []\n"
        "for detach in (False, True):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        if detach:\n"
        "            os.setsid()\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "time.sleep(0.1)\n"
        "os.kill(-1, signal.SIGKILL)  # Linux spares the caller itself\n"
        "print([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in kids])\n"
    )
    result = box.run(code)
    assert result.exit_code == 0 and result.stdout == "[-9, -9]\n", result
    box.assert_clean()  # the executor, the keepers and the other slots were out of its reach


DAEMON_BODY = {
    # a classic daemon: double fork and setsid, ignoring the polite signals
    "setsid_daemon": "os.setsid()\n"
    "if os.fork():\n    os._exit(0)\n"
    "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\n",
    # a plain orphan in the run's session
    "orphan": "",
    # a daemon that stops itself once its files are written (a stopped process still has to die)
    "stopped_daemon": "os.setsid()\nstop_after_first = True\n",
}


@pytest.mark.parametrize("kind", sorted(DAEMON_BODY))
def test_a20_daemons_are_killed_and_their_files_removed(box, kind):
    code = (
        "import os, signal, time\n"
        "r, w = os.pipe()\n"
        "stop_after_first = False\n"
        "if os.fork() == 0:\n"
        + "".join("    " + line + "\n" for line in DAEMON_BODY[kind].splitlines())
        + "    first = True\n"
        "    while True:\n"
        "        for path in ('/tmp/daemon.txt', '/dev/shm/daemon.txt', os.getcwd() + '/daemon.txt'):\n"
        "            with open(path, 'a') as fh:\n"
        "                fh.write('alive\\n')\n"
        "        if first:\n"
        "            os.write(w, b'x')\n"
        "            first = False\n"
        "            if stop_after_first:\n"
        "                os.kill(os.getpid(), signal.SIGSTOP)\n"
        "        time.sleep(0.05)\n"
        "os.read(r, 1)\n"
        "print('daemon running', sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')))\n"
    )
    result = box.run(code)
    assert result.exit_code == 0 and not result.timed_out, result
    assert result.stdout == "daemon running ['daemon.txt'] ['daemon.txt']\n"
    box.assert_clean()
    time.sleep(0.3)
    box.assert_clean()  # no file reappeared: the daemon is dead, not just its files


LEFTOVERS = {
    "plain": "for d in dirs:\n    open(d + '/left.txt', 'w').write('x')\n    open(d + '/.hidden', 'w').write('x')\n",
    "locked_dirs": "for d in dirs:\n"
    "    os.makedirs(d + '/locked/inner')\n"
    "    open(d + '/locked/inner/f', 'w').write('x')\n"
    "    os.chmod(d + '/locked/inner/f', 0o000)\n"
    "    os.chmod(d + '/locked/inner', 0o000)\n"
    "    os.chmod(d + '/locked', 0o000)\n",
    "special_files": "import socket\n"
    "for d in dirs:\n"
    "    os.mkfifo(d + '/fifo')\n"
    "    socket.socket(socket.AF_UNIX).bind(d + '/sock')\n"
    "    os.symlink('/', d + '/to_root')\n"
    "    os.symlink('/etc/passwd', d + '/to_passwd')\n"
    "    os.symlink(d + '/missing', d + '/dangling')\n"
    "open('orig', 'w').write('x')\n"
    "os.link('orig', 'hardlink')\n",
    "odd_names": "for d in dirs:\n"
    "    for name in (b'\\xff\\xfe', b'new\\nline', b'-rf', b'x' * 255, b' '):\n"
    "        open(os.fsencode(d) + b'/' + name, 'w').write('x')\n",
    "posix_shared_memory": "from multiprocessing import shared_memory\n"
    "block = shared_memory.SharedMemory(create=True, size=1 << 20)\n"
    "block.buf[:5] = b'hello'\n"
    "open('/tmp/keep', 'w').write(block.name)\n",
}


@pytest.mark.parametrize("kind", sorted(LEFTOVERS))
def test_a21_files_left_in_tmp_shm_and_scratch_are_removed(box, kind):
    code = (
        "import os\n"
        "dirs = ['/tmp', '/dev/shm', os.getcwd()]\n"
        + LEFTOVERS[kind]
        + "print(sum(len(os.listdir(d)) for d in dirs))\n"
    )
    result = box.run(code)
    assert result.exit_code == 0 and int(result.stdout) >= 2, result
    box.assert_clean()


@pytest.mark.parametrize("parent", ["run", "orphaned"])
def test_a22_zombies_are_reaped(box, parent):
    spawn = (
        "kids = []\n"
        "for _ in range(50):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "for _ in range(200):  # until every child has exited (a loaded box is slow)\n"
        "    zombies = sum(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0] == 'Z' for pid in kids)\n"
        "    if zombies == len(kids):\n"
        "        break\n"
        "    time.sleep(0.01)\n"
    )
    if parent == "run":  # the run itself never waits for its children
        code = "import os, time\n" + spawn + "print('zombies', zombies)\n"
    else:  # a child makes zombies and exits without waiting: they are orphaned to the executor
        code = (
            "import os, time\n"
            "r, w = os.pipe()\n"
            "if os.fork() == 0:\n"
            + "".join("    " + line + "\n" for line in spawn.splitlines())
            + "    os.write(w, str(zombies).encode())\n"
            "    os._exit(0)\n"
            "print('zombies', os.read(r, 10).decode())\n"
            "os.wait()\n"
        )
    result = box.run(code)
    assert result.exit_code == 0 and result.stdout == "zombies 50\n", result
    box.assert_clean()  # the probe counts zombies of slot uids as leftover processes


# ---- A23-A27: interpreter edge cases ---------------------------------------------------------------


def test_a23_input_gets_eof_at_once(box):
    result = box.run("import os, sys\nprint(repr(sys.stdin.read()), os.read(0, 10))\ninput()\n", timeout=5)
    assert result.exit_code == 1 and not result.timed_out and result.duration < 3.0
    assert result.stdout == "'' b''\n"
    assert result.stderr.rstrip().endswith("EOFError: EOF when reading a line")
    box.assert_clean()


RECURSION = {
    # the catalogue's row: CPython 3.11 keeps Python frames on the heap, so this only grows memory
    # slowly (about 20k frames per second on the 2-core test box) until the wall timeout
    "plain": ("def f(n):\n    return f(n + 1) + 1\nf(0)\n", 1.5),
    # frames holding memory reach RLIMIT_AS quickly
    "big_frames": ("def f(n):\n    pad = bytes(1 << 20)\n    return f(n + 1) + 1\nf(0)\n", 5),
    # C recursion (json's decoder) overflows the C stack
    "c_stack": ("import json\njson.loads('[' * 500000 + ']' * 500000)\n", 5),
}


@pytest.mark.parametrize("kind", sorted(RECURSION))
def test_a24_unbounded_recursion_is_a_contained_crash(box, kind):
    code, timeout = RECURSION[kind]
    result = box.run("import sys\nsys.setrecursionlimit(10**7)\n" + code, timeout=timeout)
    if kind == "plain":
        assert result.timed_out and result.exit_code == -9
    elif kind == "big_frames":
        assert result.exit_code == 1 and result.stderr.rstrip().endswith("MemoryError")
    else:
        assert result.exit_code == -11 and not result.timed_out  # SIGSEGV, no core file (RLIMIT_CORE 0)
    box.assert_clean()


MUTATIONS = {
    "numpy.pi": "import numpy\nnumpy.pi = 3\n",
    "math.pi": "import math\nmath.pi = 3\n",
    "builtins": "import builtins\nbuiltins.len = lambda x: 42\nbuiltins.evil = True\n",
    "json.dumps": "import json\njson.dumps = lambda *a, **k: 'evil'\n",
    "random.random": "import random\nrandom.random = lambda: 0.5\n",
    "sys.modules": "import sys, types\nsys.modules['evil'] = types.ModuleType('evil')\n",
    "sys.path": "import sys\nsys.path.insert(0, '/evil')\n",
    "interpreter": "import sys, gc\nsys.setrecursionlimit(50)\nsys.setswitchinterval(1.0)\ngc.disable()\n",
    "process": "import os, signal\nos.umask(0)\nos.environ['EVIL'] = '1'\nos.putenv('EVIL2', '1')\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n",
    "libraries": "import decimal, warnings, numpy\ndecimal.getcontext().prec = 3\nwarnings.simplefilter('error')\n"
    "numpy.seterr(all='raise')\nnumpy.set_printoptions(precision=1)\n",
}


@pytest.mark.parametrize("target", sorted(MUTATIONS))
def test_a25_mutating_preloaded_state_does_not_reach_the_next_run(box, target):
    result = box.run(MUTATIONS[target] + "print('mutated')\n")
    assert result.exit_code == 0 and result.stdout == "mutated\n", result
    for state in box.assert_clean():  # compares module state and environment with a fresh container's
        assert state["state"]["numpy.pi"] == 3.141592653589793


EXITS = [
    ("import sys\nsys.exit(3)", 3, ""),
    ("raise SystemExit(3)", 3, ""),
    ("import os\nos._exit(3)", 3, ""),
    ("exit(4)", 4, ""),
    ("import sys\nsys.exit(259)", 3, ""),  # the status is taken modulo 256, as by the OS
    ("import sys\nsys.exit(-1)", 255, ""),
    ("import sys\nsys.exit()", 0, ""),
    ("import sys\nsys.exit('bye')", 1, "bye\n"),
]


@pytest.mark.parametrize("code,status,stderr", EXITS)
def test_a26_exit_status_is_reported_faithfully(box, code, status, stderr):
    result = box.run(code)
    assert result.exit_code == status and not result.timed_out
    assert result.stderr == stderr
    box.assert_clean()


def test_a26_os_exit_loses_buffered_output_like_cpython(box):
    result = box.run("import os\nprint('lost')\nos._exit(5)")
    assert result.exit_code == 5 and result.stdout == ""


@pytest.mark.parametrize("how,status", [("fds", 120), ("streams", 1)])
def test_a27_closed_stdout_and_stderr_fail_without_hanging(box, how, status):
    close = {
        "fds": "import os\nos.close(1)\nos.close(2)\n",
        "streams": "import sys\nsys.stdout.close()\nsys.stderr.close()\n",
    }[how]
    result = box.run(close + "print('x')\n")
    assert result.exit_code == status and not result.timed_out and result.duration < 3.0
    assert result.stdout == "" and result.stderr == ""
    box.assert_clean()


# ---- A28-A33: runs side by side ------------------------------------------------------------------


def test_a28_a_run_cannot_read_a_concurrent_runs_environment_or_files(box):
    attacker = errno_json(
        FIND_NEIGHBOUR + "import time\ntime.sleep(0.3)\n"
        "pids = out['pids'] = neighbours()\n"
        "for what in ('environ', 'mem', 'maps', 'auxv', 'stack', 'syscall', 'io'):\n"
        "    attempt_all(what, lambda pid: open(f'/proc/{pid}/{what}', 'rb').read(1), pids)\n"
        "for what in ('fd', 'cwd', 'root', 'map_files'):\n"
        "    attempt_all(what, lambda pid: os.listdir(f'/proc/{pid}/{what}'), pids)\n"
        "mine = os.getcwd()\n"
        "for slot in sorted(os.listdir('/sandbox')):\n"
        "    path = '/sandbox/' + slot\n"
        "    if path != mine:\n"
        "        out['list ' + path] = os.listdir(path)\n"
        "        attempt('read ' + path, lambda: open(path + '/secret.txt').read())\n"
        "        attempt('write ' + path, lambda: open(path + '/evil', 'w'))\n"
    )
    victim, spy = box.together([(VICTIM, 5), (attacker, 5)])
    pid, uid, cwd = check_victim(victim)
    out = json.loads(spy.stdout)
    assert pid in out.pop("pids")  # the victim's uid is not even mapped here: it is one of the 65534s
    listed = {key: out.pop(key) for key in list(out) if key.startswith("list ")}
    assert f"list {cwd}" in listed and set(map(tuple, listed.values())) == {()}  # empty mount points
    assert {out.pop(f"read {path[5:]}") for path in listed} == {"ENOENT"}
    assert {out.pop(f"write {path[5:]}") for path in listed} == {"EACCES"}
    assert len(out) == 11
    assert {tuple(v) for v in out.values()} == {("EACCES",)}, out
    box.assert_clean()


def test_a32_a_run_cannot_trace_or_signal_a_concurrent_run(box):
    attacker = errno_json(
        FIND_NEIGHBOUR + "import ctypes, resource, signal, time\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def call(fn, *args):\n"
        "    if fn(*args) == -1:\n"
        "        raise OSError(ctypes.get_errno(), 'failed')\n"
        "class Iov(ctypes.Structure):\n"
        "    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]\n"
        "buf = ctypes.create_string_buffer(16)\n"
        "local, remote = Iov(ctypes.addressof(buf), 16), Iov(0x400000, 16)\n"
        "time.sleep(0.3)\n"
        "pids = out['pids'] = neighbours()\n"
        "groups = [pid for pid in pids if os.getpgid(pid) > 1]  # killpg(1) would mean kill(-1)\n"
        "attempt_all('ptrace attach', lambda pid: call(libc.ptrace, 16, pid, None, None), pids)\n"
        "attempt_all('ptrace seize', lambda pid: call(libc.ptrace, 0x4206, pid, None, None), pids)\n"
        "attempt_all('process_vm_readv', lambda pid: call(libc.process_vm_readv, pid, ctypes.byref(local), 1,\n"
        "                                                 ctypes.byref(remote), 1, 0), pids)\n"
        "attempt_all('SIGKILL', lambda pid: os.kill(pid, signal.SIGKILL), pids)\n"
        "attempt_all('SIGSTOP', lambda pid: os.kill(pid, signal.SIGSTOP), pids)\n"
        "attempt_all('process group', lambda pid: os.killpg(os.getpgid(pid), signal.SIGKILL), groups)\n"
        "attempt_all('prlimit', lambda pid: resource.prlimit(pid, resource.RLIMIT_NOFILE, (1, 1)), pids)\n"
        "attempt_all('setpriority', lambda pid: os.setpriority(os.PRIO_PROCESS, pid, 19), pids)\n"
        "attempt_all('affinity', lambda pid: os.sched_setaffinity(pid, {0}), pids)\n"
    )
    victim, spy = box.together([(VICTIM, 5), (attacker, 5)])
    pid, _, _ = check_victim(victim)  # finished normally: not killed, stopped or traced
    out = json.loads(spy.stdout)
    assert pid in out.pop("pids")
    assert out == {
        name: ["EPERM"]
        for name in (
            "ptrace attach",
            "ptrace seize",
            "process_vm_readv",
            "SIGKILL",
            "SIGSTOP",
            "process group",
            "prlimit",
            "setpriority",
            "affinity",
        )
    }
    box.assert_clean()


BYSTANDER = (
    "import hashlib, numpy as np\n"
    "m = np.arange(16.).reshape(4, 4)\n"
    "print(sum(range(100000)), int(np.trace(m @ m)), hashlib.sha256(b'r1ci').hexdigest()[:8])\n"
)
NOISE = {
    "fork_bomb": FORK_BOMB,
    "cpu_hog": "import os\nfor _ in range(40):\n    if os.fork() == 0:\n        break\nwhile True:\n    pass\n",
    "memory_hog": "import os\nfor _ in range(6):\n    if os.fork() == 0:\n        break\nhold = []\n"
    "while True:\n    try:\n        hold.append(b'x' * (50 << 20))\n"
    "    except MemoryError:\n        hold.clear()\n",
}


@pytest.mark.parametrize("noise", sorted(NOISE))
def test_a29_bystanders_get_correct_results_next_to_a_noisy_neighbour(box, noise):
    calm = box.together([(BYSTANDER, 10)] * 3, stagger=0)  # calibration: this box, its load, now
    alone = max(result.duration for result in calm)
    jobs = [(NOISE[noise], 2.5)] + [(BYSTANDER, 10)] * 3
    noisy, *bystanders = box.together(jobs, stagger=0.3)
    # Killed at its timeout; the memory hog may be killed sooner by the container's OOM killer, which
    # picks the biggest run process (runs have oom_score_adj 1000), never the executor or a bystander.
    assert noisy.exit_code == -9 and (noisy.timed_out or noise == "memory_hog"), noisy
    for result in bystanders:
        assert result.exit_code == 0 and not result.timed_out, result
        assert result.stdout == "4999950000 1060 656e92ca\n"
        # loose: next to 64 spinning processes on 2 cores a bystander may wait for CPU until the
        # neighbour is killed (2.5 s after it started), but not much longer
        assert result.duration < 2.5 + 1.0 + 20 * alone, (result, alone)
    box.assert_clean()


RANDOMS = (
    "import json, os, random, uuid, numpy as np\n"
    "print(json.dumps([random.random(), float(np.random.rand()), float(np.random.default_rng().random()),\n"
    "                  random.getrandbits(64), uuid.uuid4().hex, os.urandom(8).hex()]))\n"
)


def test_a30_random_state_is_fresh_in_every_run(box):
    sequential = [box.run(RANDOMS) for _ in range(3)]
    concurrent = box.together([(RANDOMS, 5), (RANDOMS, 5)], stagger=0)
    draws = [json.loads(r.stdout) for r in sequential + concurrent]
    for column in zip(*draws):
        assert len(set(column)) == len(draws), column  # every generator differs between runs
    box.assert_clean()


@pytest.mark.parametrize("listener", ["run", "daemon"])
def test_a33_a_loopback_listener_dies_with_its_run(box, listener):
    """Concurrent runs may talk over loopback (not guaranteed); a finished run's listener is gone."""
    listen = (
        "import json, os, socket, time\n"
        "def serve(w):\n"
        "    tcp = socket.socket()\n"
        "    tcp.bind(('127.0.0.1', 0))\n"
        "    tcp.listen()\n"
        "    name = b'\\0r1ci-a33-%d' % os.getpid()\n"
        "    unix = socket.socket(socket.AF_UNIX)\n"
        "    unix.bind(name)\n"
        "    unix.listen()\n"
        "    socket.create_connection(tcp.getsockname()).close()\n"
        "    os.write(w, json.dumps({'port': tcp.getsockname()[1], 'name': name[1:].decode()}).encode())\n"
        "    return tcp, unix\n"
        "r, w = os.pipe()\n"
    )
    if listener == "run":
        listen += "keep = serve(w)\nprint(os.read(r, 1000).decode())\n"
    else:
        listen += (
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        keep = serve(w)\n"
            "        time.sleep(60)\n"
            "    os._exit(0)\n"
            "print(os.read(r, 1000).decode())\n"
        )
    served = box.json(listen)
    connect = errno_json(
        "import socket\n"
        f"attempt('tcp', lambda: socket.create_connection(('127.0.0.1', {served['port']}), timeout=2))\n"
        "unix = socket.socket(socket.AF_UNIX)\n"
        f"attempt('unix', lambda: unix.connect(b'\\0' + {served['name'].encode()!r}))\n"
    )
    assert box.json(connect) == {"tcp": "ECONNREFUSED", "unix": "ECONNREFUSED"}
    box.assert_clean()


# ---- A31, A34-A37: crashes, IPC, descriptors, privileges, output encoding ---------------------------


@pytest.mark.parametrize(
    "code,status",
    [
        ("import ctypes\nctypes.string_at(0)", -11),
        ("import os\nos.abort()", -6),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGBUS)", -7),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)", -15),
    ],
)
def test_a31_crashes_are_reported_as_signals(box, code, status):
    result = box.run(code)
    assert result.exit_code == status and not result.timed_out
    assert result.stdout == "" and result.stderr == ""
    box.assert_clean()  # no core file either


IPC_CALLS = errno_json(
    "import ctypes\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def call(fn, *args):\n"
    "    if fn(*args) == -1:\n"
    "        raise OSError(ctypes.get_errno(), 'failed')\n"
    "attempt('shmget', lambda: call(libc.shmget, 0, 1 << 20, 0o1666))\n"
    "attempt('semget', lambda: call(libc.semget, 0, 4, 0o1666))\n"
    "attempt('msgget', lambda: call(libc.msgget, 0, 0o1666))\n"
    "attempt('shmctl', lambda: call(libc.shmctl, 0, 0, None))\n"
    "attempt('mq_open', lambda: call(libc.mq_open, b'/r1ci-leak', os.O_CREAT | os.O_RDWR, 0o666, None))\n"
    "attempt('mqueue file', lambda: open('/dev/mqueue/r1ci-leak', 'w'))\n"
    "attempt('memfd', lambda: os.memfd_create('ok'))\n"
    "attempt('posix shm', lambda: open('/dev/shm/sem.r1ci', 'w').write('x'))\n"
    "rows = [open('/proc/sysvipc/' + k).read().splitlines()[1:] for k in ('shm', 'sem', 'msg')]\n"
    "out['sysvipc rows'] = sum(map(len, rows))\n"
)


def test_a34_sysv_ipc_and_message_queues_are_denied_posix_shm_is_per_run(box):
    """Decision: SysV IPC and POSIX message queues are denied (EPERM) by the run filter: detached
    SysV shared memory is charged to no process, and both name spaces would outlive a run. POSIX
    shared memory and semaphores (files in the run's own /dev/shm, what multiprocessing uses) work."""
    out = box.json(IPC_CALLS)
    assert out == {
        "shmget": "EPERM",
        "semget": "EPERM",
        "msgget": "EPERM",
        "shmctl": "EPERM",
        "mq_open": "EPERM",
        "mqueue file": "EROFS",
        "memfd": "ALLOWED",
        "posix shm": "ALLOWED",
        "sysvipc rows": 0,
    }
    box.assert_clean()


def test_a34_multiprocessing_works_with_per_run_shared_memory(box):
    code = (
        "import multiprocessing as mp\nfrom multiprocessing import shared_memory\n"
        "def square(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        "    shm = shared_memory.SharedMemory(create=True, size=16)\n"
        "    shm.buf[0] = 7\n"
        "    with mp.Pool(2) as pool:\n        print(pool.map(square, range(4)), shm.buf[0])\n"
        "    shm.close()\n"
    )
    result = box.run(code, timeout=20)
    assert result.exit_code == 0 and result.stdout == "[0, 1, 4, 9] 7\n", result
    box.assert_clean()


def test_a35_opening_many_files_stops_at_the_descriptor_limit(box):
    code = errno_json(
        "fds = []\n"
        "def grab():\n"
        "    while True:\n"
        "        fds.append(os.open('/dev/null', os.O_RDONLY))\n"
        "attempt('open', grab)\n"
        "out['opened'] = len(fds)\n"
    )
    assert box.json(code) == {"open": "EMFILE", "opened": 253}  # RLIMIT_NOFILE 256 minus stdio
    box.assert_clean()


def test_a36_privileges_cannot_be_regained(box):
    body = (
        "import ctypes, resource, subprocess\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def call(fn, *args):\n"
        "    if fn(*args) == -1:\n"
        "        raise OSError(ctypes.get_errno(), 'failed')\n"
        "def write(path, text):\n"
        "    with open(path, 'w') as fh:\n"
        "        fh.write(text)\n"
        "attempt('oom_score_adj', lambda: write('/proc/self/oom_score_adj', '-1000'))\n"
        "attempt('setuid', lambda: os.setuid(0))\n"
        "attempt('seteuid', lambda: os.seteuid(0))\n"
        "attempt('setgid', lambda: os.setgid(0))\n"
        "attempt('setgroups', lambda: os.setgroups([0]))\n"
        "attempt('chroot', lambda: os.chroot('.'))\n"
        "attempt('nice', lambda: os.nice(-5))\n"
        "attempt('raise NPROC', lambda: resource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6)))\n"
        "attempt('raise AS', lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1)))\n"
        "attempt('unshare user', lambda: call(libc.unshare, 0x10000000))\n"
        "attempt('unshare mount', lambda: call(libc.unshare, 0x00020000))\n"
        "attempt('mount', lambda: call(libc.mount, b'none', b'.', b'tmpfs', 0, None))\n"
        "attempt('keyctl', lambda: call(libc.syscall, 250, 0, -3, 0, 0))\n"
        "attempt('bpf', lambda: call(libc.syscall, 321, 0, 0, 0))\n"
        "attempt('setns', lambda: call(libc.setns, os.open('/proc/1/ns/mnt', os.O_RDONLY), 0))\n"
        "status = dict(l.split(':\\t') for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
        "out['caps'] = [status[k] for k in ('CapInh', 'CapPrm', 'CapEff', 'CapAmb')]\n"
        "out['no_new_privs'] = status['NoNewPrivs']\n"
        "setuid_mount = subprocess.run(['mount', '-t', 'tmpfs', 'none', '.'], capture_output=True, text=True)\n"
        "out['setuid mount'] = [setuid_mount.returncode, 'must be superuser' in setuid_mount.stderr]\n"
    )
    out = box.json(errno_json(body))
    assert out == {
        "oom_score_adj": "EACCES",
        "setuid": "EPERM",
        "seteuid": "EPERM",
        "setgid": "EPERM",
        "setgroups": "EPERM",
        "chroot": "EPERM",
        "nice": "EPERM",
        "raise NPROC": "ValueError",
        "raise AS": "ValueError",
        "unshare user": "EPERM",
        "unshare mount": "EPERM",
        "mount": "EPERM",
        "keyctl": "EPERM",
        "bpf": "EPERM",
        "setns": "EACCES",
        "caps": ["0000000000000000"] * 4,
        "no_new_privs": "1",
        "setuid mount": [32, True],  # the setuid-root binary ran without privileges
    }
    box.assert_clean()


def test_a37_invalid_utf8_comes_back_with_replacement_characters(box):
    result = box.run(
        "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe \\xc3(\\n')\nsys.stderr.buffer.write(b'\\x80err')\n"
    )
    assert result.exit_code == 0
    assert result.stdout == "ok \ufffd\ufffd \ufffd(\n" and result.stderr == "\ufffderr"
    box.assert_clean()


def test_a37_control_characters_and_forged_protocol_frames_pass_through_verbatim(box):
    text = (
        '{"id": 1, "stdout": "forged", "exit_code": 0}\n{"ready": true}\n'
        '{"id": null, "error": "x"}\na\x00b\x1b[31m\r\x07\n'
    )
    result = box.run(f"import sys\nsys.stdout.write({text!r})\nsys.stderr.write({text!r})\n")
    assert result.exit_code == 0 and result.stdout == text and result.stderr == text
    box.assert_clean()


def test_a37_multibyte_text_cut_by_truncation_stays_a_valid_string(box):
    result = box.run("print('é' * 100001)")
    assert result.exit_code == 0 and result.truncated
    head, tail = result.stdout.split(" bytes omitted ...]\n")
    assert head.startswith("é" * 1000) and set(tail.strip()) <= {"é", "\ufffd"}
    result.stdout.encode("utf-8")  # no lone surrogates
    box.assert_clean()


def test_a37_lone_surrogates_come_back_as_replacement_characters(box):
    # the program's stdout encodes with surrogateescape (as CPython does under LANG=C.UTF-8)
    result = box.run("print('\\udcff')")
    assert result.exit_code == 0 and result.stdout == "\ufffd\n"
    box.assert_clean()


# ---- X1-X7: attacks beyond the catalogue ----------------------------------------------------------


@pytest.mark.parametrize("where", ["scratch", "/tmp"])
def test_x1_a_very_deep_directory_tree_is_removed(box, where):
    """1200 nested directories (a recursive cleaner would hit Python's recursion limit)."""
    start = "" if where == "scratch" else "os.chdir('/tmp')\n"
    code = "import os\n" + start + "for _ in range(1200):\n    os.mkdir('d')\n    os.chdir('d')\nprint('deep')\n"
    result = box.run(code, timeout=10)
    assert result.exit_code == 0 and result.stdout == "deep\n"
    box.assert_clean()


@pytest.mark.parametrize("where", ["scratch", "/tmp", "/dev/shm"])
def test_x2_a_path_longer_than_path_max_is_removed(box, where):
    """60 levels of 200-character names (a cleaner using full paths would get ENAMETOOLONG)."""
    start = "" if where == "scratch" else f"os.chdir({where!r})\n"
    code = (
        "import os\n" + start + "for _ in range(60):\n    os.mkdir('d' * 200)\n    os.chdir('d' * 200)\n"
        "open('secret', 'w').write('left for the next run')\n"
        "print(len(os.getcwd()) > 4096)\n"
    )
    result = box.run(code)
    assert result.exit_code == 0 and result.stdout == "True\n"
    box.assert_clean()


@pytest.mark.parametrize("first,mode", [("guest", 0o777), ("owner", 0o1733)])
def test_x3_entries_made_inside_another_runs_open_directory_are_removed(box, first, mode):
    """Run A (owner) shares a world-writable directory in /tmp; run B (guest) leaves a private subtree
    inside it. Whichever ends first, nothing of either may be left once both have ended (0o1733: the
    guest cannot even list the directory it wrote into)."""
    owner_stays, guest_stays = (1.5, 0.0) if first == "guest" else (0.6, 1.2)
    owner = (
        "import os, time\n"
        f"os.mkdir('/tmp/shared')\nos.chmod('/tmp/shared', {mode:#o})\ntime.sleep({owner_stays})\nprint('A done')\n"
    )
    guest = (
        "import os, time\n"
        "for _ in range(100):\n"
        "    if os.path.isdir('/tmp/shared'):\n"
        "        break\n"
        "    time.sleep(0.02)\n"
        "os.makedirs('/tmp/shared/mine/deeper')\n"
        "open('/tmp/shared/mine/deeper/secret', 'w').write('x')\n"
        "os.chmod('/tmp/shared/mine', 0o700)\n"
        f"time.sleep({guest_stays})\n"
        "print('B done')\n"
    )
    first_result, second_result = box.together([(owner, 5), (guest, 5)])
    assert first_result.stdout == "A done\n" and second_result.stdout == "B done\n"
    box.assert_clean()


@pytest.mark.parametrize("what", ["files", "hard_links"])
def test_x4_an_inode_flood_is_cleaned_within_the_hosts_deadline(box, what):
    """Create entries until stopped: cleaning them up must stay well inside the host's grace period."""
    make = "os.close(os.open(f'e{n}', os.O_CREAT | os.O_WRONLY))" if what == "files" else "os.link('seed', f'e{n}')"
    code = errno_json(
        "open('seed', 'w').close()\n"
        "n = 0\n"
        "def flood():\n"
        "    global n\n"
        "    while True:\n"
        f"        {make}\n"
        "        n += 1\n"
        "attempt('flood', flood)\n"
        "out['entries'] = n\n"
    )
    started = time.monotonic()
    result = box.run(code, timeout=2)  # a SandboxError here: the cleanup outlasted the host's deadline
    elapsed = time.monotonic() - started
    assert result.timed_out or json.loads(result.stdout)["flood"] == "ENOSPC", result
    assert elapsed < 2 + 3, f"the reply came {elapsed:.1f} s after the request"
    cleaning = settle(box.sandbox)
    assert cleaning < 3, f"cleaning the slot took {cleaning:.1f} s after the reply"
    box.assert_clean()


def test_x7_signal_state_of_the_executor_does_not_leak_into_programs(box):
    """A fresh `python3 main.py` has default signal handling: no SIGCHLD handler, no wakeup fd."""
    code = (
        "import json, os, signal, subprocess\n"
        "files = [os.open(f'f{i}', os.O_RDWR | os.O_CREAT) for i in range(20)]\n"
        "subprocess.run(['true'])\n"
        "handlers = {}\n"
        "for s in signal.Signals:\n"
        "    handler = signal.getsignal(s)\n"
        "    if handler not in (signal.SIG_DFL, None):\n"
        "        handlers[s.name] = getattr(handler, 'name', None) or getattr(handler, '__name__', repr(handler))\n"
        "blocked = open('/proc/self/status').read().split('SigBlk:')[1].split()[0]\n"
        "print(json.dumps({'handlers': handlers, 'wakeup_fd': signal.set_wakeup_fd(-1), 'blocked': blocked,\n"
        "                  'corrupted': [fd for fd in files if os.pread(fd, 16, 0)]}))\n"
    )
    result = box.run(code)
    assert result.exit_code == 0 and result.stderr == "", result
    assert json.loads(result.stdout) == {
        "handlers": {"SIGINT": "default_int_handler", "SIGPIPE": "SIG_IGN", "SIGXFSZ": "SIG_IGN"},
        "wakeup_fd": -1,
        "blocked": "0000000000000000",
        "corrupted": [],
    }
    box.assert_clean()


# ---- Sandbox v2: the containment classes of issue 9 -----------------------------------------------
# Each case runs through the real pool, asserts the contained outcome, and ends with the probe of
# every slot (`box.assert_clean`). "Concurrent" cases run several episodes in the one container.

ZOMBIE_LEADER = (  # a thread group whose leader thread exits while another thread runs on
    "import ctypes, os, threading, time\n"
    "def plant():\n"
    "    for _ in range(400):\n"
    "        for d in ('/tmp', '/dev/shm', os.getcwd()):\n"
    "            try:\n"
    "                open(d + '/evil_planted.py', 'w').write('print(\"PLANTED\")')\n"
    "            except OSError:\n"
    "                pass\n"
    "        time.sleep(0.01)\n"
    "threading.Thread(target=plant).start()\n"
    "time.sleep(0.05)\n"
    "ctypes.CDLL(None).pthread_exit(None)\n"
)
DETACHED_ZOMBIE_LEADER = (  # the same, in a setsid() grandchild, while the run itself exits at once
    "import os\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    + "".join("        " + line + "\n" for line in ZOMBIE_LEADER.splitlines())
    + "    os._exit(0)\n"
    "os.wait()\n"
    "print('parent done')\n"
)
PLANT_CHECK = "import sys\ntry:\n    import evil_planted\nexcept ImportError:\n    print('clean')\n"


def test_c1_a_zombie_leader_thread_group_dies_at_the_timeout(box):
    started = time.monotonic()
    result = box.run(ZOMBIE_LEADER, timeout=1.5)
    assert result.timed_out and result.exit_code == -9, result
    assert time.monotonic() - started < 1.5 + 3  # class 2: no hang in a blocking wait
    assert box.run(PLANT_CHECK).stdout == "clean\n"
    box.assert_clean()


def test_c1_a_detached_zombie_leader_dies_with_its_run(box):
    result = box.run(DETACHED_ZOMBIE_LEADER, timeout=5)
    assert result.exit_code == 0 and result.stdout == "parent done\n", result
    states = box.assert_clean()  # at once: the run is over, so nothing of its slot may live
    assert all(state["own"] == [] for state in states)
    assert box.run(PLANT_CHECK).stdout == "clean\n"


def test_c1_c2_concurrent_zombie_leaders_and_innocent_neighbours(box):
    """Three attackers and three honest episodes at once: the honest ones get right results, never a
    SandboxError, and the container survives."""
    jobs = [(ZOMBIE_LEADER, 1.0), (BYSTANDER, 10), (DETACHED_ZOMBIE_LEADER, 5), (BYSTANDER, 10)] * 2
    results = box.together(jobs[:6], stagger=0.05)
    for result in results[1::2]:
        assert result.exit_code == 0 and result.stdout == "4999950000 1060 656e92ca\n", result
    assert results[0].timed_out and results[2].stdout == "parent done\n", results
    box.assert_clean()


def test_c1_session_leftovers_die_when_the_session_ends(box):
    with box.sandbox.session() as session:
        assert session.run(DETACHED_ZOMBIE_LEADER, timeout=5).stdout == "parent done\n"
        result = session.run("import os\nprint(sorted(os.listdir('.')))", timeout=5)
        assert result.exit_code == 0  # the episode's own leftovers may live while the episode does
    box.assert_clean()
    assert box.run(PLANT_CHECK).stdout == "clean\n"


def test_c2_a_session_cell_with_a_zombie_leader_times_out_and_resets(box):
    with box.sandbox.session() as session:
        session.run("x = 1")
        started = time.monotonic()
        result = session.run(ZOMBIE_LEADER, timeout=1.0)
        assert result.timed_out and time.monotonic() - started < 1.0 + 3, result
        assert result.stderr.endswith(RESET_NOTE)
        assert session.run("print('x' in dir())").stdout == "False\n"
    box.assert_clean()


# -- class 3: the session channel


def channel_attack(body: str) -> str:
    return "import os, socket, struct, sys, time\nch = socket.socket(fileno=os.dup(3))\n" + body


CHANNEL_ATTACKS = {
    "garbage": channel_attack("ch.send(b'{\"status\": NaN}')\ntime.sleep(3)\n"),
    "deep_nesting": channel_attack("ch.send(b'[' * 60 + b']' * 60)\ntime.sleep(3)\n"),
    "oversized": channel_attack("ch.send(b'x' * 100000)\ntime.sleep(3)\n"),
    "flood": channel_attack(
        "for _ in range(5000):\n    try:\n        ch.send(b'{', socket.MSG_DONTWAIT)\n"
        "    except BlockingIOError:\n        break\ntime.sleep(3)\n"
    ),
    "forged_token_then_exit": channel_attack("ch.send(struct.pack('=c8si', b'D', b'12345678', 0))\nos._exit(0)\n"),
    "closed_channel": "import os, time\nos.close(3)\ntime.sleep(3)\nprint('after')\n",
}


@pytest.mark.parametrize("kind", sorted(CHANNEL_ATTACKS))
def test_c3_channel_misuse_is_the_programs_result_and_spares_other_sessions(box, kind):
    with box.sandbox.session() as other, box.sandbox.session() as session:
        other.run("y = 5")
        session.run("x = 1")
        result = session.run(CHANNEL_ATTACKS[kind], timeout=2.0)
        assert not result.ok, result  # a crash, a reset or a timeout, never a SandboxError
        assert other.run("print(y)").stdout == "5\n"  # the neighbour session is untouched
        after = session.run("print('fresh', 'x' in dir())")
        assert after.ok and after.stdout in ("fresh True\n", "fresh False\n"), after
    box.assert_clean()


STEAL_TOKEN = (  # find the worker's token in its own frames, report done early, keep spinning in a thread
    "import os, socket, struct, sys, threading, time\n"
    "token, frame = None, sys._getframe()\n"
    "while frame is not None and token is None:\n"
    "    token, frame = frame.f_locals.get('token'), frame.f_back\n"
    "def spin():\n"
    "    while True:\n"
    "        with open('ticks', 'a') as fh:\n"
    "            fh.write(f'{time.time()}\\n')\n"
    "        time.sleep(0.02)\n"
    "threading.Thread(target=spin, daemon=True).start()\n"
    "time.sleep(0.1)\n"
    "socket.socket(fileno=os.dup(3)).send(struct.pack('=c8si', b'D', token, 0))\n"
    "time.sleep(0.5)\n"
)


def test_c3_a_forged_done_with_the_real_token_cannot_run_past_its_call(box):
    """The program reads the worker's token from its frames (it shares the process) and reports the
    cell done early. Decision: the call ends there, as if the program had returned, but nothing of
    the slot runs until the next call: the whole slot is stopped between calls."""
    with box.sandbox.session() as session:
        result = session.run(STEAL_TOKEN, timeout=5)
        assert result.ok and result.duration < 0.5, result
        ended = time.time()
        time.sleep(1.5)
        resumed = time.time()
        ticks = session.run(
            "import time\ntime.sleep(0.3)\nprint(sorted(float(t) for t in open('ticks').read().split()))", timeout=5
        )
        assert ticks.ok and not ticks.stderr, ticks
        during_gap = [t for t in json.loads(ticks.stdout) if ended + 0.2 < t < resumed - 0.1]
        assert during_gap == [], "the program ran between calls"
    box.assert_clean()


# -- class 4: the scratch directory's own inode

INODE_ATTACKS = {
    "chmod_open": "import os\nos.chmod('.', 0o777)\nos.chmod('/tmp', 0o777)\n",
    "chmod_closed": "import os\nos.chmod('.', 0o000)\n",
    "default_acl": "import os, struct\n"
    "acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', tag, 7, 0xFFFFFFFF)"
    " for tag in (1, 4, 32))\n"
    "os.setxattr('.', 'system.posix_acl_default', acl)\n",
    "xattr_memory": "import os\nos.setxattr('.', 'user.note', b'secret')\nos.setxattr('/tmp', 'user.note', b'x')\n",
    "times": "import os\nos.utime('.', (0, 0))\n",
    "setgid_dir": "import os\nos.chmod('.', 0o2755)\n",
}


@pytest.mark.parametrize("kind", sorted(INODE_ATTACKS))
def test_c4_the_scratch_inode_is_new_for_every_run(box, kind):
    result = box.run(INODE_ATTACKS[kind] + "print('done')\n")
    assert result.stdout == "done\n" or "Operation not supported" in result.stderr, result
    box.assert_clean()  # every slot: mode 0700, our uid, no xattrs or ACL, nothing used, fresh /tmp


def test_c4_a_sessions_scratch_inode_is_new_for_the_next_episode(box):
    with box.sandbox.session() as session:
        assert (
            session.run(
                "import os\nos.chmod('.', 0o777)\nos.setxattr('.', 'user.a', b'1')\n"
                "print(oct(os.stat('.').st_mode & 0o777))"
            ).stdout
            == "0o777\n"
        )
        assert session.run("import os\nprint(os.listxattr('.'))").stdout == "['user.a']\n"  # same episode
    box.assert_clean()


# -- class 5: no run starts from a process that saw another run


def heap_search(prefix: str, suffix: str) -> str:
    """A program that searches all its readable memory for prefix+suffix (never built in its memory)."""
    return (
        "import re\n"
        f"A, B = {prefix.encode()!r}, {suffix.encode()!r}\n"
        "hits = 0\n"
        "import ctypes\n"
        "regions = []\n"
        "for line in open('/proc/self/maps').read().splitlines():\n"
        "    fields = line.split()\n"
        "    if fields[1].startswith('r') and (len(fields) < 6 or fields[5] in ('[heap]', '[stack]')):\n"
        "        regions.append([int(x, 16) for x in fields[0].split('-')])  # anonymous memory: heaps\n"
        "for lo, hi in regions:\n"
        "    if True:\n"
        "        data = ctypes.string_at(lo, hi - lo)\n"
        "        start = data.find(A)\n"
        "        while start >= 0:\n"
        "            hits += data[start + len(A):start + len(A) + len(B)] == B\n"
        "            start = data.find(A, start + 1)\n"
        "print('hits', hits)\n"
    )


def test_c5_a_run_cannot_find_a_concurrent_or_earlier_runs_code_or_output_in_its_memory(box):
    prefix, suffix = "r1ci-sibling-", os.urandom(8).hex()
    secret = prefix + suffix
    earlier = [box.run(f"answer = {secret!r}\nprint(answer * 3)") for _ in range(4)]  # every slot, likely
    assert all(r.ok for r in earlier)
    victim = f"import time\nanswer = {secret!r}\nprint(answer)\ntime.sleep(2)\n"
    results = box.together(
        [(victim, 5), (victim, 5), (heap_search(prefix, suffix), 10), (heap_search(prefix, suffix), 10)], stagger=0.3
    )
    assert results[0].ok and results[1].ok
    for spy in results[2:]:
        assert spy.ok and spy.stdout == "hits 0\n", spy
    box.assert_clean()


def test_c5_a_session_cannot_find_another_sessions_code_in_its_memory(box):
    prefix, suffix = "r1ci-session-", os.urandom(8).hex()
    with box.sandbox.session() as victim, box.sandbox.session() as spy:
        assert victim.run(f"answer = {prefix + suffix!r}\nprint(answer)").ok
        result = spy.run(heap_search(prefix, suffix), timeout=10)
        assert result.ok and result.stdout == "hits 0\n", result
    box.assert_clean()


# -- class 6: private /tmp, /dev/shm, IPC and sockets per run

SAME_NAME = (  # G honest copies of one program: each uses the same fixed file names
    "import os, time\n"
    "mine = os.urandom(8).hex()\n"
    "for d in ('/tmp', '/dev/shm'):\n"
    "    fd = os.open(d + '/result.txt', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n"
    "    os.write(fd, mine.encode())\n"
    "    os.close(fd)\n"
    "time.sleep(0.8)\n"
    "print(all(open(d + '/result.txt').read() == mine for d in ('/tmp', '/dev/shm')))\n"
)


def test_c6_concurrent_copies_of_one_program_do_not_collide_in_tmp_or_shm(box):
    results = box.together([(SAME_NAME, 5)] * 4, stagger=0.05)
    assert [r.stdout for r in results] == ["True\n"] * 4, results
    box.assert_clean()


PLANTER = (
    "import os, socket, time\n"
    "os.mkfifo('/tmp/result.txt')\n"
    "os.symlink('/etc/passwd', '/dev/shm/result.txt')\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.bind('\\0r1ci-abstract')\n"
    "s.listen()\n"
    "t = socket.socket()\n"
    "t.bind(('127.0.0.1', 47321))\n"
    "t.listen()\n"
    "print('planted', flush=True)\n"
    "time.sleep(2)\n"
)
PLANT_VICTIM = (
    "import errno, os, socket, time\n"
    "time.sleep(0.5)\n"
    "out = []\n"
    "for path in ('/tmp/result.txt', '/dev/shm/result.txt'):\n"
    "    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)\n"
    "    out.append('created')\n"
    "for family, address in ((socket.AF_UNIX, '\\0r1ci-abstract'), (socket.AF_INET, ('127.0.0.1', 47321))):\n"
    "    try:\n"
    "        socket.socket(family).connect(address)\n"
    "        out.append('CONNECTED')\n"
    "    except OSError as exc:\n"
    "        out.append(errno.errorcode[exc.errno])\n"
    "print(out)\n"
)


def test_c6_a_neighbour_cannot_plant_files_or_listen_where_another_run_looks(box):
    planter, victim = box.together([(PLANTER, 5), (PLANT_VICTIM, 5)], stagger=0.1)
    assert planter.ok and planter.stdout == "planted\n", planter
    assert victim.ok and victim.stdout == "['created', 'created', 'ECONNREFUSED', 'ECONNREFUSED']\n", victim
    box.assert_clean()


LOOPBACK_CONVERSATION = (  # leaves TIME_WAIT entries whose port numbers could carry a message on
    "import socket\n"
    "server = socket.socket()\nserver.bind(('127.0.0.1', 0))\nserver.listen()\n"
    "for _ in range(5):\n"
    "    client = socket.create_connection(server.getsockname())\n"
    "    peer, _ = server.accept()\n"
    "    client.close()\n"
    "    peer.close()\n"
    "print(open('/proc/net/tcp').read().count(' 06 '))\n"  # state 06: TIME_WAIT
)


def test_c6_no_socket_state_of_a_run_reaches_the_next(box):
    result = box.run(LOOPBACK_CONVERSATION)
    assert result.ok and int(result.stdout) >= 1, result  # the conversation did leave TIME_WAIT entries
    box.assert_clean()  # the probe of every slot sees no socket at all in /proc/net


def test_c6_sessions_do_not_share_tmp(box):
    with box.sandbox.session() as first, box.sandbox.session() as second:
        assert first.run("open('/tmp/shared', 'w').write('first')").ok
        result = second.run("import os\nprint(os.listdir('/tmp'), os.listdir('/dev/shm'))")
        assert result.stdout == "[] []\n", result
        assert first.run("print(open('/tmp/shared').read())").stdout == "first\n"  # the episode keeps its own
    box.assert_clean()


# -- class 7: smaller holes


def test_c7_io_uring_and_namespaces_are_denied_to_programs(box):
    body = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def call(nr, *args):\n"
        "    if libc.syscall(nr, *args) == -1:\n"
        "        raise OSError(ctypes.get_errno(), 'failed')\n"
        "params = ctypes.create_string_buffer(120)\n"
        "attempt('io_uring_setup', lambda: call(425, 8, params))\n"
        "attempt('unshare user', lambda: call(272, 0x10000000))\n"
        "attempt('unshare net', lambda: call(272, 0x40000000))\n"
        "attempt('clone newuser', lambda: call(56, 0x10000000 | 17, 0, 0, 0, 0))\n"
        "attempt('clone3', lambda: call(435, 0, 0))\n"
        "attempt('mount', lambda: call(165, b'none', b'/tmp', b'tmpfs', 0, 0))\n"
        "attempt('setns', lambda: call(308, 0, 0))\n"
        "attempt('ptrace traceme', lambda: call(101, 0, 0, 0, 0))\n"
        "attempt('keyctl', lambda: call(250, 0, 0, 0, 0))\n"
        "attempt('bpf', lambda: call(321, 0, 0, 0))\n"
        "caps = [l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))]\n"
        "out['caps'] = sorted(set(caps))\n"
        "out['no_new_privs'] = open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0]\n"
        "out['seccomp'] = open('/proc/self/status').read().split('Seccomp_filters:')[1].split()[0]\n"
    )
    out = box.json(errno_json(body))
    assert out.pop("caps") == ["0000000000000000"] and out.pop("no_new_privs") == "1"  # bounding set too
    assert int(out.pop("seccomp")) >= 2  # Docker's profile (the container's) and the run filter
    assert out == {
        "io_uring_setup": "EPERM",
        "unshare user": "EPERM",
        "unshare net": "EPERM",
        "clone newuser": "EPERM",
        "clone3": "ENOSYS",
        "mount": "EPERM",
        "setns": "EPERM",
        "ptrace traceme": "EPERM",
        "keyctl": "EPERM",
        "bpf": "EPERM",
    }
    box.assert_clean()


def test_c7_ptys_come_from_the_slots_own_small_pool(box):
    code = (
        "import os, pty\nfds = []\ntry:\n    while True:\n        fds.append(pty.openpty())\n"
        "except OSError as exc:\n    print(len(fds), exc.errno)\n"
    )
    result = box.run(code)
    assert result.ok and result.stdout.split()[0] == "8", result  # executor Config.ptys, then ENOSPC
    box.assert_clean()  # and /dev/pts is empty again in every slot


def test_c7_every_run_draws_fresh_sympy_and_numpy_randomness(box):
    code = (
        "import json, random, numpy, sympy.core.random as sr\n"
        "print(json.dumps([sr.rng.random(), sr.randint(0, 10**9), random.random(), float(numpy.random.rand())]))"
    )
    draws = [tuple(json.loads(box.run(code).stdout)) for _ in range(6)]
    for column in zip(*draws):
        assert len(set(column)) == len(column), draws
    box.assert_clean()


@pytest.fixture
def unsettable_pool():
    """A real pool whose runs cannot be set up (an impossible process limit)."""
    from r1ci_env.sandbox import SandboxError, make_sandbox

    try:
        sandbox = make_sandbox("docker", containers=1, slots=1, nproc=-2, retries=0)
    except SandboxError as exc:
        pytest.skip(str(exc))
    yield sandbox
    sandbox.close()


def test_c7_an_internal_set_up_failure_is_an_infrastructure_error_not_stderr(unsettable_pool):
    """A run whose set-up fails must never come back as program output: the host sees a
    SandboxError naming the set-up."""
    from r1ci_env.sandbox import SandboxError

    with pytest.raises(SandboxError, match="could not set up the run"):
        unsettable_pool.run("print('never')")


def test_c7_a_session_whose_worker_cannot_be_set_up_raises_sandbox_error(unsettable_pool):
    """Usually the set-up failure itself is reported; when the slot's keeper is lost in the same moment the
    session is lost instead. Either way an infrastructure error, never program output or a dead executor."""
    from r1ci_env.sandbox import SandboxError

    with pytest.raises(SandboxError, match=r"infrastructure, not the program"):
        with unsettable_pool.session() as session:
            session.run("print('never')")


# -- class 8: a program's failure is its result

KILL_OWN_TREE = (
    "import os, signal\nif os.fork() == 0:\n    import time; time.sleep(9)\nos.kill(-1, signal.SIGKILL)\n"
    "os.kill(0, signal.SIGKILL)\n"
)


@pytest.mark.parametrize("mode", ["stateless", "session"])
def test_c8_killing_ones_own_tree_is_the_programs_result(box, mode):
    if mode == "stateless":
        result = box.run(KILL_OWN_TREE)
    else:
        with box.sandbox.session() as session:
            result = session.run(KILL_OWN_TREE)
            assert session.run("print(2)").stdout == "2\n"
    assert result.exit_code == -9 and not result.timed_out, result
    box.assert_clean()


@pytest.mark.parametrize("action", ["kill_tree", "hang", "channel"])
def test_c8_a_stateful_rollout_goes_on_after_a_hostile_program(box, action):
    """Through gym: the hostile step's observation is the program's result and the episode goes on."""
    from r1ci_env.env import CodeInterpreterEnv

    code = {"kill_tree": KILL_OWN_TREE, "hang": ZOMBIE_LEADER, "channel": CHANNEL_ATTACKS["forged_token_then_exit"]}[
        action
    ]
    env = CodeInterpreterEnv("NumberMultiply", sandbox=box.sandbox, stateful=True, timeout=1.5, max_code_calls=3)
    try:
        env.reset(seed=0)
        observation, reward, terminated, truncated, _ = env.step(f"```python\n{code}\n```")
        assert reward == 0.0 and not terminated and not truncated
        observation, _, terminated, _, _ = env.step("```python\nprint(6 * 7)\n```")
        assert "42" in observation and not terminated
    finally:
        env.close()
    box.assert_clean()
