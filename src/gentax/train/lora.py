"""LoRA adapters (peft): how `gentax train` and `gentax sft` wrap a model to train only
low-rank adapters, and how `gentax sft --lora` saves what it learned as a small folder that
loads anywhere a model name is accepted (gentax.agents.models merges it into its base)."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import torch


def add_lora(model: Any, rank: int, alpha: int, lr: float) -> Any:
    """`model` wrapped by peft with rank-`rank` adapters on every linear layer (not the LM head);
    only the adapters train. Warns when `lr` is at the full-tuning scale."""
    from peft import LoraConfig, get_peft_model

    if lr < 1e-5:
        warnings.warn(f"lora: lr {lr:g} is the full-tuning scale; LoRA adapters usually need "
                      "1e-5 to 1e-4 to move at all", stacklevel=2)
    return get_peft_model(model, LoraConfig(r=rank, lora_alpha=alpha, target_modules="all-linear",
                                            task_type="CAUSAL_LM"))


def save_adapter(model: Any, out: str | Path, base: str) -> Path:
    """Write the adapter of peft `model` alone to `out`: adapter_config.json and
    adapter_model.safetensors, its weights in fp16 (half the bytes of fp32; the weights of a
    trained adapter are far inside fp16's range, and merging adds them to fp32 base weights).

    `base` is recorded as the adapter's base model: the name it was trained from ("default", a hub
    id or a path), not the folder that name resolved to on this machine, so the folder loads
    wherever that name does. No tokenizer: it is the base's. No model card (peft's would name the
    cache path)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(model.peft_config["default"])
    config.base_model_name_or_path = base
    config.inference_mode = True
    config.save_pretrained(str(out))
    weights = {k: v.detach().to(torch.float16).contiguous()
               for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    return out
