"""Checkpoints written atomically, and resume from the last complete one.

A checkpoint is a folder `step-000015/` with the trainable weights (safetensors), the optimizer
and scheduler states, every RNG state and a JSON of trainer state. It is written under a
temporary name and renamed into place, so a killed run never leaves a half-written checkpoint
that resume would pick up."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

PREFIX = "step-"


def _weights(model: torch.nn.Module, trainable_only: bool) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad} if trainable_only else None
    # clone: tied weights (embedding = LM head) share storage, which safetensors refuses.
    return {n: t.detach().cpu().clone().contiguous() for n, t in model.state_dict().items()
            if names is None or n in names}


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: dict[str, Any],
    trainable_only: bool = False,
    keep_last: int | None = None,
) -> Path:
    """Write checkpoint `step` under run_dir/checkpoints/ atomically; returns its folder."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:06d}"
    tmp = root / f".tmp-{PREFIX}{step:06d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(_weights(model, trainable_only), str(tmp / "model.safetensors"))
    trainer = {"optimizer": optimizer.state_dict(), "rng": rng_state(),
               "scheduler": scheduler.state_dict() if scheduler else None}
    torch.save(trainer, tmp / "trainer.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, **state}, indent=2))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)  # atomic on one file system: the checkpoint appears whole or not at all
    if keep_last:
        for old in list_checkpoints(run_dir)[:-keep_last]:
            shutil.rmtree(old)
    return final


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith(PREFIX) and (p / "state.json").exists())


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
) -> dict[str, Any]:
    """Restore weights (and optimizer, scheduler, RNG when given); returns the trainer state."""
    path = Path(path)
    weights = load_file(str(path / "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected:
        raise ValueError(f"checkpoint {path} has weights the model does not: {unexpected[:3]}")
    if optimizer is not None:
        saved = torch.load(path / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved["scheduler"] is not None:
            scheduler.load_state_dict(saved["scheduler"])
        set_rng_state(saved["rng"])
    return json.loads((path / "state.json").read_text())
