"""Models, LoRA adapters, checkpoints with optimizer and RNG state, and the metrics log."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .logprobs import unwrap_model


def is_adapter_dir(path: str | os.PathLike) -> bool:
    """True for a PEFT adapter directory (what `train_sft.py --lora` writes without --merge-lora)."""
    return (Path(path) / "adapter_config.json").exists()


def load_model(path: str | os.PathLike, *, dtype: str = "float32", device: str = "cpu", sft_adapter: str | None = None):
    """(model, tokenizer) from a local directory, in train mode, always as plain merged weights.

    `path` may be a full model or a PEFT adapter directory (its base, named in adapter_config.json, is
    loaded and the adapter merged in). With `sft_adapter`, that adapter is merged into `path`'s weights.
    Either way the result IS the SFT model: a fresh LoRA on top trains from it, and disabling that LoRA
    gives it back as the KL reference."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapters = [str(path)] if is_adapter_dir(path) else []
    if sft_adapter:
        adapters.append(str(sft_adapter))
    if len(adapters) == 2:
        raise ValueError(
            f"{path} is itself an adapter directory; pass its base as --model with --sft-adapter {path}, "
            "or the adapter alone as --model"
        )
    base = (
        json.loads((Path(path) / "adapter_config.json").read_text())["base_model_name_or_path"]
        if is_adapter_dir(path)
        else str(path)
    )
    tokenizer = AutoTokenizer.from_pretrained(path if (Path(path) / "tokenizer_config.json").exists() else base)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=getattr(torch, dtype)).to(device)
    for adapter in adapters:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def save_final(model, tokenizer, directory: str | os.PathLike, *, merge: bool) -> Path:
    """Write the final model with its tokenizer. `merge=True` folds a LoRA adapter into full weights (the
    directory then loads on its own); otherwise a LoRA model is saved as an adapter over its base."""
    import copy

    inner = unwrap_model(model)
    if merge and hasattr(inner, "merge_and_unload"):
        inner = copy.deepcopy(inner).merge_and_unload()
    inner.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return Path(directory)


def add_lora(
    model,
    r: int = 32,
    alpha: int = 64,
    dropout: float = 0.0,
    target_modules: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
):
    """Wrap `model` with a fresh trainable LoRA adapter (peft); asserts there is something to train."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules), task_type="CAUSAL_LM"
    )
    model = get_peft_model(model, config)
    if not any(p.requires_grad for p in model.parameters()):
        raise RuntimeError("the LoRA model has no trainable parameters")
    return model


def trainable_parameters(model) -> list[torch.nn.Parameter]:
    """The parameters the optimizer updates."""
    return [p for p in model.parameters() if p.requires_grad]


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "torch": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.random.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: str | os.PathLike, model, tokenizer, optimizer, state: dict[str, Any]) -> Path:
    """Write `directory/step-N` (weights or adapter via save_pretrained, tokenizer, optimizer, trainer
    state and RNG) and point `directory/latest` at it. Only rank 0 should call this."""
    directory = Path(directory)
    target = directory / f"step-{state['step']}"
    tmp = directory / f".tmp-step-{state['step']}"
    tmp.mkdir(parents=True, exist_ok=True)
    unwrap_model(model).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "state": state, "rng": rng_state()}, tmp / "trainer_state.pt")
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    (directory / "latest").write_text(target.name)
    return target


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    pointer = Path(directory) / "latest"
    if not pointer.exists():
        return None
    path = Path(directory) / pointer.read_text().strip()
    return path if path.exists() else None


def load_checkpoint_state(checkpoint: str | os.PathLike, model, optimizer) -> dict[str, Any]:
    """Load weights (full model or LoRA adapter) and optimizer/RNG state saved by `save_checkpoint`
    into `model` / `optimizer`; returns the trainer state dict."""
    checkpoint = Path(checkpoint)
    inner = unwrap_model(model)
    if (checkpoint / "adapter_config.json").exists():
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(inner, load_file(checkpoint / "adapter_model.safetensors"))
    else:
        from safetensors.torch import load_file

        weights = {}
        for file in sorted(checkpoint.glob("*.safetensors")):
            weights.update(load_file(file))
        missing, unexpected = inner.load_state_dict(weights, strict=False)
        missing = [m for m in missing if not m.endswith("lm_head.weight")]  # tied embeddings
        if missing or unexpected:
            raise RuntimeError(
                f"checkpoint {checkpoint} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
            )
    blob = torch.load(checkpoint / "trainer_state.pt", weights_only=False)
    optimizer.load_state_dict(blob["optimizer"])
    set_rng_state(blob["rng"])
    return blob["state"]


class MetricsLog:
    """Append-only JSONL metrics (rank 0 writes; other ranks get a no-op)."""

    def __init__(self, path: str | os.PathLike | None, enabled: bool = True) -> None:
        self.path = Path(path) if path and enabled else None
        self._lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> None:
        if self.path is None:
            return
        row = {"time": time.time(), **row}
        with self._lock, self.path.open("a") as f:
            f.write(json.dumps(row, default=float) + "\n")
