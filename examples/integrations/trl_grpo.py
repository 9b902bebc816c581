"""GRPO with TRL on r1ci tasks, exact R1-Code-Interpreter protocol (r1ci_env.integrations.trl).

    # one machine, one GPU (HF sampling with the trainer's model; add --cpu for a CPU smoke run):
    python examples/integrations/trl_grpo.py --model ./Qwen2.5-7B-Instruct --suite train --output-dir runs/trl
    # several GPUs / nodes, colocated vLLM (GPU only):
    accelerate launch --num_machines 2 --machine_rank $RANK --main_process_ip $HEAD --num_processes 16 \
        examples/integrations/trl_grpo.py --model ./Qwen2.5-7B-Instruct --backend vllm --sandbox remote \
        --sandbox-urls http://cpu1:8080,http://cpu2:8080 --output-dir runs/trl
"""

from __future__ import annotations

import argparse

from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from r1ci_env.integrations.draw import read_accuracy
from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.integrations.trl import R1CIRollout, make_dataset, r1ci_reward_func


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="local model directory")
    parser.add_argument("--suite", default="train", help="suite of the training prompts")
    parser.add_argument("--tasks", default=None, help="comma-separated tasks instead of a suite")
    parser.add_argument("--n", type=int, default=2000, help="prompts in the dataset")
    parser.add_argument("--accuracy", default=None, help="per-task accuracy JSON or summary.csv: 4p(1-p) weights")
    parser.add_argument(
        "--backend",
        choices=("hf", "vllm"),
        default="hf",
        help="hf: the trainer's model samples; vllm: TRL's vLLM (GPU), see --vllm-mode",
    )
    parser.add_argument(
        "--vllm-mode",
        choices=("colocate", "server"),
        default="colocate",
        help="server: TRL's `vllm serve` at --vllm-server-url (each rank sends its own requests)",
    )
    parser.add_argument("--vllm-server-url", default=None, help="e.g. http://gen-node:8000")
    parser.add_argument("--sandbox", default=None, choices=("docker", "remote", "local"))
    parser.add_argument("--sandbox-urls", default=None, help="comma-separated `r1ci sandbox serve` URLs")
    parser.add_argument("--max-code-calls", type=int, default=5)
    parser.add_argument("--num-generations", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8, help="per device; a multiple of --num-generations")
    parser.add_argument("--max-completion-length", type=int, default=4096, help="tokens after the prompt")
    parser.add_argument("--max-steps", type=int, default=500)
    parser.add_argument("--lr", type=float, default=1e-6)
    parser.add_argument("--cpu", action="store_true", help="train on CPU in float32 (a smoke run)")
    parser.add_argument("--output-dir", required=True)
    args = parser.parse_args()

    urls = tuple(args.sandbox_urls.split(",")) if args.sandbox_urls else None
    settings = EnvSettings(sandbox=args.sandbox, sandbox_urls=urls, max_code_calls=args.max_code_calls)
    tasks = args.tasks.split(",") if args.tasks else args.suite
    accuracy = read_accuracy(args.accuracy) if args.accuracy else None
    dataset = make_dataset(tasks, args.n, seed=0, settings=settings, accuracy=accuracy)
    config = GRPOConfig(
        output_dir=args.output_dir,
        per_device_train_batch_size=args.batch_size,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        max_steps=args.max_steps,
        learning_rate=args.lr,
        beta=0.0,
        logging_steps=1,
        use_vllm=args.backend == "vllm",
        vllm_mode=args.vllm_mode,
        vllm_server_base_url=args.vllm_server_url,
        report_to=[],
        use_cpu=args.cpu,
        bf16=not args.cpu,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(args.model),
        args=config,
        processing_class=AutoTokenizer.from_pretrained(args.model),
        train_dataset=dataset,
        reward_funcs=[r1ci_reward_func],
        rollout_func=R1CIRollout(dataset, settings, backend=args.backend),
    )
    trainer.train()


if __name__ == "__main__":
    main()
