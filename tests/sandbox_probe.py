"""Probes run through a sandbox right after an attack, to show that it left nothing behind.

Each slot lives in its own user, mount, IPC and network namespaces, so one probe sees only its own
slot: `probe_all` runs one probe in every slot at once (each holds its slot for a moment, so that all
slots get one) and `all_problems` checks what each saw: no process of the slot's uid but the probe,
its keeper as the only root, the same processes outside the slot as in a fresh container, a fresh
scratch directory (a new inode: mode, owner,
no extended attributes or ACL, empty, nothing used on its tmpfs), empty /tmp, /dev/shm, /dev/mqueue
and /dev/pts, no SysV IPC object, no socket, a clean environment and descriptor table, the fresh state
of preloaded modules, and random numbers never seen before.
"""

from __future__ import annotations

import json
import threading

PROBE = "import os; print('probe', sorted(os.listdir('.')), os.getuid() != 0)"


def assert_probe_clean(sandbox) -> None:
    """A normal run right after an attack works and sees an empty scratch directory."""
    result = sandbox.run(PROBE, timeout=10)
    assert result.exit_code == 0, result
    assert result.stdout.strip() == "probe [] True"


STATE_PROBE = r"""
import builtins, decimal, gc, json, math, os, random, signal, socket, stat, sys, time, warnings
import numpy, sympy

me = os.getpid()
cwd = os.getcwd()
slot = int(cwd.rsplit('/', 1)[1])
processes = []
for name in os.listdir('/proc'):
    if not name.isdigit() or int(name) == me:
        continue
    try:
        with open(f'/proc/{name}/status') as fh:
            fields = dict(line.split(':', 1) for line in fh.read().splitlines() if ':' in line)
    except OSError:
        continue  # exited meanwhile
    processes.append([int(name), int(fields['Uid'].split()[0]), fields['Name'].strip(), fields['State'].strip()[:1]])


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return f'{type(exc).__name__}: {exc}'


st = os.stat('.')
fs = os.statvfs('.')
tmp = os.stat('/tmp')
ipc = {}
for kind in ('shm', 'sem', 'msg'):
    with open('/proc/sysvipc/' + kind) as fh:
        ipc[kind] = fh.read().splitlines()[1:]
sockets = {}
for kind in ('unix', 'tcp', 'tcp6', 'udp', 'udp6'):
    with open('/proc/net/' + kind) as fh:
        sockets[kind] = fh.read().splitlines()[1:]
print(json.dumps({
    'slot': slot,
    'pid': me,
    'host': socket.gethostname(),
    'uid': os.getuid(),
    'cwd': cwd,
    'processes': processes,
    'own': listing('.'),
    'scratch_inode': [oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid, os.listxattr('.'),
                      fs.f_files - fs.f_ffree, fs.f_blocks - fs.f_bfree, round(time.time() - st.st_mtime, 1)],
    'tmp_inode': [oct(stat.S_IMODE(tmp.st_mode)), tmp.st_uid, os.listxattr('/tmp')],
    'tmp': listing('/tmp'),
    'shm': listing('/dev/shm'),
    'mqueue': listing('/dev/mqueue'),
    'pts': listing('/dev/pts'),
    'ipc': ipc,
    'sockets': sockets,
    'env': dict(os.environ),
    'fds': sorted(os.listdir('/proc/self/fd')),
    'state': {
        'numpy.pi': numpy.pi,
        'math.pi': math.pi,
        'len': len('abc'),
        'builtins': sorted(n for n in dir(builtins) if 'evil' in n),
        'json.dumps': json.dumps({'a': 1}),
        'random.random': type(random.random).__name__,
        'modules': sorted(m for m in sys.modules if 'evil' in m),
        'sys.path': [p for p in sys.path if 'evil' in p],
        'recursionlimit': sys.getrecursionlimit(),
        'switchinterval': sys.getswitchinterval(),
        'umask': os.umask(0o077),
        'gc': gc.isenabled(),
        'sigint': signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        'warnings': len(warnings.filters),
        'decimal.prec': decimal.getcontext().prec,
        'numpy.err': numpy.geterr(),
        'numpy.precision': numpy.get_printoptions()['precision'],
    },
    'rng': [random.random(), float(numpy.random.rand()), sympy.core.random.rng.random()],
}))
"""

# What the program environment may contain; anything else is a leak (of the host's or a run's).
ENV_KEYS = {
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "PYTHONIOENCODING",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MPLBACKEND",
    "MALLOC_ARENA_MAX",
}
PI = 3.141592653589793
OVERFLOW_UID = 65534  # how a slot sees every uid outside its user namespace (root, other slots, keepers)
HOLD_SECONDS = 0.3  # each probe of `probe_all` keeps its slot this long, so that every slot gets one


def probe_state(sandbox, hold: float = 0.0) -> dict:
    """Run the state probe in one slot and return what it saw."""
    code = STATE_PROBE + (f"\ntime.sleep({hold})\n" if hold else "")
    result = sandbox.run(code, timeout=30)
    assert result.exit_code == 0 and not result.timed_out, result
    return json.loads(result.stdout)


def probe_all(sandbox, slots: int) -> list[dict]:
    """One probe in every slot of a pool of `slots` slots, at once; fails if a slot got none."""
    states: list = [None] * slots
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            states[index] = probe_state(sandbox, HOLD_SECONDS)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(slots)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    seen = sorted(state["slot"] for state in states)
    assert seen == list(range(slots)), f"the probes did not cover every slot: {seen}"
    return states


def state_problems(state: dict, baseline: dict | None = None, probes: frozenset[int] = frozenset()) -> list[str]:
    """Everything in one probe's `state` that a clean slot would not show (empty list: clean).

    `probes`: pids of the probes running at the same time (their processes are expected). `baseline`:
    a probe of a fresh container (see `baseline_of`), whose root processes, keepers and module state
    must match."""
    problems = []
    others = [p for p in state["processes"] if p[0] not in probes]
    leftovers = [p for p in others if p[1] not in (0, OVERFLOW_UID)]
    if leftovers:
        problems.append(f"processes of the slot's program uid are alive: {leftovers}")
    keeper = [p for p in others if p[1] == 0]
    if len(keeper) != 1:
        problems.append(f"expected the slot's keeper as the only root process in view: {keeper}")
    if baseline is not None:  # tini, the executor, the other keepers (and their idle spares) must be there
        foreign = [p[2] for p in others if p[1] == OVERFLOW_UID]
        if set(foreign) != set(baseline["foreign"]) or len(foreign) < baseline["slots"] + 1:
            problems.append(f"processes outside the slot changed: {foreign} (fresh container: {baseline['foreign']})")
    for key, label in (("own", "own scratch"), ("tmp", "/tmp"), ("shm", "/dev/shm"), ("mqueue", "/dev/mqueue")):
        if state[key]:
            problems.append(f"{label} is not empty: {state[key]}")
    if state["pts"] != ["ptmx"]:
        problems.append(f"/dev/pts has ptys open: {state['pts']}")
    mode, uid, gid, xattrs, inodes, blocks, _age = state["scratch_inode"]
    if [mode, uid, gid, xattrs, inodes, blocks] != ["0o700", state["uid"], state["uid"], [], 1, 0]:
        problems.append(
            f"the scratch directory is not a fresh inode (mode, uid, gid, xattrs, inodes, blocks): "
            f"{state['scratch_inode']}"
        )
    if state["tmp_inode"] != ["0o700", state["uid"], []]:
        problems.append(f"/tmp is not a fresh inode: {state['tmp_inode']}")
    ipc = {kind: rows for kind, rows in state["ipc"].items() if rows}
    if ipc:
        problems.append(f"SysV IPC objects left: {ipc}")
    sockets = {kind: rows for kind, rows in state["sockets"].items() if rows}
    if sockets:
        problems.append(f"sockets left in the slot's network namespace: {sockets}")
    env = state["env"]
    if set(env) - ENV_KEYS:
        problems.append(f"unexpected environment variables: {sorted(set(env) - ENV_KEYS)}")
    if env.get("HOME") != state["cwd"] or env.get("TMPDIR") != state["cwd"]:
        problems.append(f"HOME/TMPDIR do not point at the scratch directory: {env}")
    if state["fds"] not in (["0", "1", "2", "3"], ["0", "1", "2", "4"]):  # 3 or 4: the listing itself
        problems.append(f"unexpected open file descriptors: {state['fds']}")
    fresh = state["state"]
    if fresh["numpy.pi"] != PI or fresh["math.pi"] != PI or fresh["len"] != 3:
        problems.append(f"preloaded module state is not fresh: {fresh}")
    if baseline is not None and fresh != baseline["state"]:
        changed = {k: (v, baseline["state"].get(k)) for k, v in fresh.items() if v != baseline["state"].get(k)}
        problems.append(f"module state differs from a fresh run (now, fresh): {changed}")
    return problems


def baseline_of(states: list[dict]) -> dict:
    """What a fresh container shows a probe (with the other probes left out): tini, the executor, the
    other slots' keepers and the idle programs they forked ahead, all outside the slot's user
    namespace (uid 65534 there)."""
    probes = frozenset(state["pid"] for state in states)
    state = states[0]
    foreign = sorted(p[2] for p in state["processes"] if p[1] == OVERFLOW_UID and p[0] not in probes)
    return {**state, "foreign": foreign, "slots": len(states)}


def all_problems(states: list[dict], baseline: dict | None = None) -> list[str]:
    """The problems of every slot's probe, each prefixed with its slot."""
    probes = frozenset(state["pid"] for state in states)
    return [
        f"slot {state['slot']}: {problem}" for state in states for problem in state_problems(state, baseline, probes)
    ]
