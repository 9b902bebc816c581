"""Run inside the trl venv: R1CIToolEnv (the environment_factory protocol) on real episodes: reset from a
dataset row, the python tool runs code in the sandbox, the final text is scored by r1ci. Prints JSON."""

from __future__ import annotations

import json
import sys

from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.integrations.trl import R1CIToolEnv, make_dataset, tool_env_reward_func


def main() -> None:
    task = sys.argv[1]
    row = make_dataset([task], 1, seed=3)[0]
    reference = EnvSettings().make(task)
    reference.reset(seed=row["seed"])
    code = reference.task.reference_solution(reference.instance)
    results = {}
    for name, final in (("right", None), ("wrong", "<<<certainly not this>>>"), ("code_in_final", None)):
        env = R1CIToolEnv()
        prompt = env.reset(**row)
        output = env.python(code)
        answer = final or f"<<<{output.split('Code Execution Results:')[-1].strip()}>>>"
        if name == "code_in_final":  # a fenced block in the final text is prose here: not run, answer counts
            answer = f"```python\nprint(1)\n```\n{answer}"
        reward = tool_env_reward_func([[{"role": "assistant", "content": answer}]], [env])
        results[name] = {
            "prompt_ok": prompt == row["prompt"][0]["content"],
            "output": output,
            "reward": reward,
            "after_end": env.python("print(2)"),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
