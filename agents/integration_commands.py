"""`r1ci serve openenv` and `r1ci export verl`: the parsers (no engine imported to build them) and a
dispatch that imports the engine module (`r1ci_env.integrations.*`, its `command(args)`) only when its
command runs; a missing package is one clear line."""

from __future__ import annotations

import argparse
import importlib

from r1ci_env import protocol
from r1ci_env.integrations.episode import DEFAULT_MAX_SESSIONS
from r1ci_env.sandbox import DEFAULT_TIMEOUT

# (command, target) -> (module with `command(args)`, the r1ci extra that installs what it needs)
_TARGETS = {
    ("serve", "openenv"): ("r1ci_env.integrations.openenv", "openenv"),
    ("export", "verl"): ("r1ci_env.integrations.verl_data", "verl-export"),
}


def _add_env_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        default=None,
        choices=("docker", "remote", "local"),
        help="sandbox backend of every episode (default: $R1CI_SANDBOX, else docker)",
    )
    parser.add_argument(
        "--sandbox-urls", default=None, help="comma-separated `r1ci sandbox serve` URLs for --sandbox remote"
    )
    parser.add_argument("--max-code-calls", type=int, default=protocol.DEFAULT_MAX_CODE_CALLS)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per code run")
    parser.add_argument("--prompt", default=protocol.DEFAULT_PROMPT_STYLE, help="prompt style or template")
    parser.add_argument("--stateful", action="store_true", help="one interpreter per episode (docker only)")


def _add_serve_openenv(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (default loopback; the sandbox runs arbitrary code, so expose it only on a trusted network)",
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        help="concurrent WebSocket sessions (at least the trainer's share of a generation batch)",
    )
    parser.add_argument("--task", default=None, help="task used when a reset names none")
    _add_env_settings(parser)


def _add_export_verl(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default="train", help="suite of the train file (paper, train, test, ...)")
    parser.add_argument("--tasks", default=None, help="comma-separated task names instead of a suite")
    parser.add_argument("--n", type=int, default=1000, help="train rows")
    parser.add_argument("--test-suite", default="test", help="suite of the test file")
    parser.add_argument("--test-n", type=int, default=256, help="test rows (0: no test file)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw; instance seeds follow from it")
    parser.add_argument(
        "--accuracy",
        default=None,
        help="per-task accuracy JSON ({task: p}) or an `r1ci bench` summary.csv; tasks are then "
        "weighted by 4p(1-p), the improvement potential (default: uniform)",
    )
    parser.add_argument("--out", required=True, help="directory for train.parquet and test.parquet")
    parser.add_argument("--prompt", default=protocol.DEFAULT_PROMPT_STYLE, help="prompt style of the rows")
    parser.add_argument("--max-code-calls", type=int, default=protocol.DEFAULT_MAX_CODE_CALLS)
    parser.add_argument("--stateful", action="store_true", help="prompts for one interpreter per episode")


_ADDERS = {
    "openenv": (_add_serve_openenv, "serve the environments as an OpenEnv server (one env per WebSocket session)"),
    "verl": (_add_export_verl, "write verl's parquet train/test files (rows name task, seed and knobs)"),
}


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `serve` and `export` to the `r1ci` parser."""
    for command, help_text in (
        ("serve", "serve the environments to a trainer"),
        ("export", "write a training engine's data files"),
    ):
        targets = sub.add_parser(command, help=help_text).add_subparsers(dest="target", required=True)
        for cmd, target in _TARGETS:
            if cmd == command:
                add, target_help = _ADDERS[target]
                add(targets.add_parser(target, help=target_help))


def run_command(args: argparse.Namespace) -> int:
    """Run `r1ci serve <target>` / `r1ci export <target>`."""
    module_name, extra = _TARGETS[(args.command, args.target)]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(
            f"r1ci {args.command} {args.target}: {exc.name or exc} is not installed; pip install 'r1ci[{extra}]'"
        ) from None
    return module.command(args)
