"""What made a model folder: `provenance.json` beside the weights `gentax sft` writes.

Enough to redo the training and to check that a committed model is what it claims: the
config, the data's sha256 and size, the gentax version and the git commit of its source."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

PROVENANCE_FILE = "provenance.json"


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rows_sha256(rows: list[dict]) -> str:
    """The sha256 of `rows` as JSON lines (sorted keys), in their order: the exact training data."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update((json.dumps(row, sort_keys=True) + "\n").encode())
    return digest.hexdigest()


def source_commit() -> dict[str, Any]:
    """The git commit of the gentax source that runs, and whether tracked files differ from it;
    None for both when gentax is not run from a git checkout (an installed wheel)."""
    package = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True,
                                  timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    # the package must be tracked by the repository found, not merely lie inside some other one
    if git("ls-files", "--error-unmatch", "__init__.py") is None:
        return {"git_commit": None, "git_dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": None if status is None else bool(status)}


def machine() -> dict[str, Any]:
    """The machine that computes: cores, CPU model and its vector flags (bf16 training is ~8x
    faster with avx512_bf16 or amx), and the GPU if torch sees one."""
    import torch

    try:
        cpuinfo = open("/proc/cpuinfo").read()
    except OSError:
        cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), None)
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), [])
    return {"cpus": os.cpu_count(), "cpu": model,
            "cpu_flags": sorted(f for f in set(flags) if f.startswith(("avx", "amx"))),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_provenance(out: str | Path, config: Any, rows: list[dict], extra: dict | None = None) -> Path:
    """Write `out`/provenance.json: the dataclass `config`, the training rows' count and sha256,
    gentax's version and commit, and `extra` (what the caller knows: the command, the files)."""
    from importlib.metadata import PackageNotFoundError, version

    try:  # the installed distribution's version (importing the package itself is the top layer)
        gentax_version = version("gentax")
    except PackageNotFoundError:
        gentax_version = None
    record = {"gentax_version": gentax_version, **source_commit(),
              "config": dataclasses.asdict(config),
              "data": {"pairs": len(rows), "sha256": rows_sha256(rows)}, **(extra or {})}
    path = Path(out) / PROVENANCE_FILE
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
