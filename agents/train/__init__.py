"""What `train_sft.py` and `train_grpo.py` share, one module per job (all import torch):

- `logprobs`: padding records into tensors, per-token log-probs in chunks
- `losses`: group advantages, the clipped surrogate and k3 KL, the SFT NLL, gradients over micro-batches
- `dist`: torchrun data parallel (all-reduces, weight broadcast, whole groups per rank)
- `checkpoint`: model / LoRA loading, checkpoints with optimizer and RNG state, the metrics log
- `rollout`: episodes of the HF policy through the environments, evaluation, code-use health
- `setup`: the common flags, `init_run`, the policy, the optimizer, the env factory

The token-level episode record and its assembly (no torch) are in `r1ci_env.tokens`.
"""
