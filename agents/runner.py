"""`r1ci run`: play a few episodes of one task with any agent spec and print each transcript and reward."""
from __future__ import annotations

import argparse
import sys

from . import fresh_agent, make_agent
from .episode import run_episode
from .errors import AgentError


def run_command(args: argparse.Namespace) -> int:
    """Play `args.n` episodes from `args.seed` with `args.agent`; print transcripts and the mean reward.
    Exit status 2 when the agent spec is wrong or the sandbox / the agent's backend fails."""
    import gymnasium as gym

    import r1ci_env  # noqa: F401 - registers the environments
    from r1ci_env.sandbox import DEFAULT_TIMEOUT, SandboxError

    from .bench import BenchError, agent_options_from_args, default_max_code_calls

    try:
        agent = make_agent(args.agent, **agent_options_from_args(args))
    except (BenchError, ValueError, TypeError, ImportError) as exc:
        print(f"r1ci run: {exc}", file=sys.stderr)
        return 2
    max_code_calls = args.max_code_calls if args.max_code_calls is not None else default_max_code_calls(args.prompt_style)
    env = gym.make(f"r1ci/{args.task}-v0", sandbox=args.sandbox, max_code_calls=max_code_calls,
                   prompt=args.prompt_style, timeout=args.code_timeout or DEFAULT_TIMEOUT)
    rewards = []
    try:
        for i in range(args.n):
            seed = args.seed + i
            try:
                episode = run_episode(env, fresh_agent(agent), seed)
            except (SandboxError, AgentError) as exc:
                print(f"episode seed={seed}: infrastructure failure (not scored): {exc}")
                return 2
            rewards.append(episode.reward)
            if not args.quiet:
                print(f"===== {episode.task} seed={seed} instance={episode.instance_id} =====")
                print(episode.transcript)
            print(f"[{episode.task} seed={seed}] reward={episode.reward:.1f} code_calls={episode.code_calls} "
                  f"answer={episode.answer!r}")
    finally:
        env.close()
    print(f"mean reward over {len(rewards)} episodes: {sum(rewards) / max(len(rewards), 1):.3f}")
    return 0
