"""`r1ci run`: play a few episodes of one task and print each transcript and reward."""
from __future__ import annotations

import argparse

from . import make_agent
from .episode import run_episode


def run_command(args: argparse.Namespace) -> int:
    """Play `args.n` episodes from `args.seed` with `args.agent`; print transcripts and the mean reward."""
    import gymnasium as gym

    import r1ci_env  # noqa: F401 - registers the environments

    from r1ci_env.sandbox import SandboxError

    agent = make_agent(args.agent)
    env = gym.make(f"r1ci/{args.task}-v0", sandbox=args.sandbox, max_code_calls=args.max_code_calls)
    rewards = []
    try:
        for i in range(args.n):
            seed = args.seed + i
            try:
                episode = run_episode(env, agent, seed)
            except SandboxError as exc:
                print(f"episode seed={seed}: sandbox failure (not scored): {exc}")
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
