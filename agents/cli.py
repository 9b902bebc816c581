"""The `r1ci` command line: `list` (the task catalogue), `run` (play episodes with an agent), `bench`
(benchmark an agent on a suite), `sandbox build|check|bench|serve`,
`model prepare` (a small real model), `serve openenv` and `export verl` (the training-engine integrations
in r1ci_env.integrations).

It lives in the application layer (`agents`): it may import everything, and nothing in `r1ci_env`
imports it."""

from __future__ import annotations

import argparse
import os
import sys

from .sandbox_bench import add_arguments as add_bench_arguments


class _HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default in --help, except where there is none to show (None, False, [])."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _add_sandbox_commands(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="build, check or benchmark the Docker sandbox")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    build = ssub.add_parser("build", help="build the sandbox image (Dockerfile, or offline with debootstrap)")
    build.add_argument("--image", default=None, help="image tag (default: $R1CI_SANDBOX_IMAGE or r1ci-sandbox:latest)")
    build.add_argument(
        "--method",
        choices=("auto", "dockerfile", "debootstrap"),
        default="auto",
        help="auto: $R1CI_SANDBOX_BUILD if set, else debootstrap (offline) when installed, else the Dockerfile",
    )
    build.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    check = ssub.add_parser("check", help="start the pool, run a probe program, report")
    check.add_argument("--image", default=None, help="image tag to check")
    bench = ssub.add_parser(
        "bench",
        help="measure the pool's latency, throughput and cold start against "
        "docker run / docker exec, and the env's overhead per step",
    )
    add_bench_arguments(bench)
    _add_serve_command(ssub)


def _add_serve_command(ssub: argparse._SubParsersAction) -> None:
    from r1ci_env.sandbox.server import add_arguments as add_serve_arguments

    serve = ssub.add_parser(
        "serve",
        help="serve the sandbox pool over HTTP to remote workers (sandbox='remote'; "
        "SandboxFusion-compatible POST /run_code)",
    )
    add_serve_arguments(serve)


def _add_run_command(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run", help="play episodes of one task with an agent and print each transcript", formatter_class=_HelpFormatter
    )
    run.add_argument(
        "--task", required=True, help="task name or gym id, e.g. BlocksWorld or r1ci/BlocksWorld-v0 (see `r1ci list`)"
    )
    run.add_argument(
        "--agent",
        default="oracle",
        help="agent spec: oracle, null, human, hf:<model path>, openai:<model>, vllm:<model path>",
    )
    run.add_argument("--n", type=int, default=5, help="number of episodes")
    run.add_argument("--seed", type=int, default=0, help="seed of the first episode; episode i uses seed+i")
    run.add_argument("--quiet", action="store_true", help="print only the reward line of each episode")
    from .bench import add_episode_arguments

    add_episode_arguments(run)


def _add_bench_command(sub: argparse._SubParsersAction) -> None:
    from .bench import add_arguments as add_agent_bench_arguments

    bench = sub.add_parser(
        "bench",
        help="benchmark an agent on a suite: N questions x K samples per task, "
        "concurrently; episodes, summary with uncertainty beside published references, plot, "
        "manifest; resumable",
        formatter_class=_HelpFormatter,
    )
    add_agent_bench_arguments(bench)


def _add_list_command(sub: argparse._SubParsersAction) -> None:
    listing = sub.add_parser(
        "list",
        help="list the tasks: gym id, name, source, category, split, checker, "
        "question count; or one task's knobs and an example question (--task)",
    )
    listing.add_argument(
        "--suite",
        default=None,
        help="only this suite: paper, train, test, symbench, bbh, reasoning_gym, execution, "
        "planning, reasoning or extra (default: every registered task)",
    )
    listing.add_argument(
        "--task",
        default=None,
        help="describe one task (a name or gym id): its knobs, their "
        "defaults, the env settings and an example question",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument(
        "--import-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (e.g. one that registers custom tasks); repeatable",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="r1ci", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_list_command(sub)
    _add_run_command(sub)
    _add_bench_command(sub)
    _add_sandbox_commands(sub)
    from .models import add_model_command

    add_model_command(sub)
    from .integration_commands import add_commands as add_integration_commands

    add_integration_commands(sub)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("r1ci")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _run_guarded(command: str, args: argparse.Namespace) -> int:
    """Run `r1ci list|run|bench`: bad input and infrastructure failures print one line and exit 2 (set
    R1CI_DEBUG=1 for the traceback); Ctrl-C outside an episode loop exits 130 without a traceback."""
    from .bench import BenchError, bench_command
    from .runner import run_command
    from .tasks_info import list_command

    handler = {"list": list_command, "run": run_command, "bench": bench_command}[command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        print(f"r1ci {command}: interrupted", file=sys.stderr)
        return 130
    except (BenchError, ValueError, TypeError, KeyError, ImportError, OSError, RuntimeError) as exc:
        if os.environ.get("R1CI_DEBUG"):
            raise
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        text = str(text).split(" was raised from the environment creator")[0]  # gymnasium's suffix
        label = "" if isinstance(exc, (BenchError, ValueError, KeyError)) else f"{type(exc).__name__}: "
        print(f"r1ci {command}: {label}{' '.join(str(text).split())[:500]}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("list", "run", "bench"):
        return _run_guarded(args.command, args)
    if args.command == "sandbox":
        from r1ci_env.sandbox import image

        if args.sandbox_command == "build":
            return image.build_command(args)
        if args.sandbox_command == "serve":
            from r1ci_env.sandbox.server import serve_command

            return serve_command(args)
        if args.sandbox_command == "bench":
            from .sandbox_bench import bench_command

            return bench_command(args)
        return image.check_command(args)
    if args.command == "model":
        from .models import model_command

        return model_command(args)
    if args.command in ("serve", "export"):
        from .integration_commands import run_command as run_integration_command

        return run_integration_command(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
