"""Probes run through a sandbox right after an attack, to show that it left nothing behind.

`assert_probe_clean` is the quick check of the run's own scratch directory. `probe_state` and
`state_problems` look at the whole container instead, because slots rotate and an attack may leave
residue in a slot the next run does not get: processes of any non-root uid, entries in /tmp,
/dev/shm and /dev/mqueue, used inodes or blocks in every slot's scratch tmpfs (via statvfs, which
needs no permission on the other slots' directories), SysV IPC objects, the program environment and
the state of preloaded modules.
"""
from __future__ import annotations

import json

PROBE = "import os; print('probe', sorted(os.listdir('.')), os.getuid() != 0)"


def assert_probe_clean(sandbox) -> None:
    """A normal run right after an attack works and sees an empty scratch directory."""
    result = sandbox.run(PROBE, timeout=10)
    assert result.exit_code == 0, result
    assert result.stdout.strip() == "probe [] True"


STATE_PROBE = r'''
import builtins, decimal, gc, json, math, os, random, signal, socket, sys, warnings
import numpy

me = os.getpid()
foreign, root = [], []
for name in os.listdir('/proc'):
    if not name.isdigit() or int(name) == me:
        continue
    try:
        with open(f'/proc/{name}/status') as fh:
            fields = dict(line.split(':', 1) for line in fh.read().splitlines() if ':' in line)
    except OSError:
        continue  # exited meanwhile
    owner = int(fields['Uid'].split()[0])
    entry = [int(name), owner, fields['Name'].strip(), fields['State'].strip()[:1]]
    (root if owner == 0 else foreign).append(entry)


def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return f'{type(exc).__name__}: {exc}'


scratch = {}
for slot in sorted(os.listdir('/sandbox')):
    fs = os.statvfs('/sandbox/' + slot)
    scratch[slot] = [fs.f_files - fs.f_ffree - 1, fs.f_blocks - fs.f_bfree]  # an empty tmpfs: [0, 0]
ipc = {}
for kind in ('shm', 'sem', 'msg'):
    with open('/proc/sysvipc/' + kind) as fh:
        ipc[kind] = fh.read().splitlines()[1:]
print(json.dumps({
    'host': socket.gethostname(),
    'uid': os.getuid(),
    'cwd': os.getcwd(),
    'foreign': foreign,
    'root': root,
    'own': listing('.'),
    'tmp': listing('/tmp'),
    'shm': listing('/dev/shm'),
    'mqueue': listing('/dev/mqueue'),
    'scratch': scratch,
    'ipc': ipc,
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
    'rng': [random.random(), float(numpy.random.rand())],
}))
'''

# What the program environment may contain; anything else is a leak (of the host's or a run's).
ENV_KEYS = {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONIOENCODING", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND", "MALLOC_ARENA_MAX"}
PI = 3.141592653589793


def probe_state(sandbox) -> dict:
    """Run the state probe and return what it saw."""
    result = sandbox.run(STATE_PROBE, timeout=10)
    assert result.exit_code == 0 and not result.timed_out, result
    return json.loads(result.stdout)


def state_problems(state: dict, baseline: dict | None = None) -> list[str]:
    """Everything in `state` that a clean sandbox would not show (empty list: clean).

    `baseline` is a probe taken on a fresh container: the root processes (tini, executor, cleaner)
    and the fresh module state must match it.
    """
    problems = []
    if state["foreign"]:
        problems.append(f"processes of non-root uids are alive: {state['foreign']}")
    for key, label in (("own", "own scratch"), ("tmp", "/tmp"), ("shm", "/dev/shm"), ("mqueue", "/dev/mqueue")):
        if state[key]:
            problems.append(f"{label} is not empty: {state[key]}")
    dirty = {slot: usage for slot, usage in state["scratch"].items() if usage != [0, 0]}
    if dirty:
        problems.append(f"scratch tmpfs in use (slot: [inodes, blocks]): {dirty}")
    ipc = {kind: rows for kind, rows in state["ipc"].items() if rows}
    if ipc:
        problems.append(f"SysV IPC objects left: {ipc}")
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
    if baseline is not None:
        if fresh != baseline["state"]:
            changed = {k: (v, baseline["state"].get(k)) for k, v in fresh.items() if v != baseline["state"].get(k)}
            problems.append(f"module state differs from a fresh run (now, fresh): {changed}")
        if len(state["root"]) != len(baseline["root"]):
            problems.append(f"root processes changed: {state['root']} (fresh container: {baseline['root']})")
    return problems
