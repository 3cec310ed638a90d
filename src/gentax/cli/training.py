"""`gentax train`, `gentax collect` and `gentax sft`: GRPO, SFT data and the SFT warm-up."""

from __future__ import annotations

import json
import shlex
from enum import StrEnum
from pathlib import Path

import typer

from gentax.cli.common import (
    ENV_ARG,
    PROMPT_STYLE,
    Backend,
    DType,
    PromptStyle,
    Split,
    console,
    env_kwargs,
    fail,
    load_generator,
    ready_domain,
)
from gentax.config import field_help
from gentax.train.config import TrainConfig


def _fields_help() -> str:
    lines = [f"  {name} (default {default}): {help}" for name, default, help in field_help(TrainConfig)]
    return "\b\nConfig fields (YAML keys or key=value overrides):\n" + "\n".join(lines)


def train(
    overrides: list[str] = typer.Argument(None, help="key=value overrides, e.g. steps=10 think=false "
                                          "env_kwargs.sokoban.rows=5 (fields below)."),
    config: Path | None = typer.Option(None, "--config", help="YAML config (e.g. configs/cpu.yaml)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the run's last checkpoint."),
) -> None:
    """GRPO over whole trajectories; metrics.jsonl and checkpoints in the run folder."""
    from gentax.train.distributed import rank_and_size
    from gentax.train.trainer import train as run_training

    cfg = TrainConfig.load(config, overrides or [])  # a ConfigError is one line, exit 2 (cli/__init__)
    for name in cfg.domains:
        ready_domain(name)
    keys = ("success", "mean_return", "invalid_action_rate", "kl", "grad_norm", "rollout_s", "update_s")

    def show(record: dict) -> None:
        shown = " ".join(f"{k}={record[k]:.3g}" for k in keys if isinstance(record.get(k), float | int))
        vals = " ".join(f"{k}={v:.3g}" for k, v in record.items() if k.endswith("/success"))
        console.print(f"[bold]step {record['step']}[/bold] {shown} {vals}")

    run_dir = run_training(cfg, resume=resume, log=show)
    if rank_and_size()[0] == 0:  # several processes: rank 0 speaks for all
        console.print(f"Run folder: {run_dir} (metrics.jsonl, checkpoints/)")


train.__doc__ = f"{train.__doc__}\n\n{_fields_help()}"


class CollectPolicy(StrEnum):
    expert = "expert"
    reasoned = "reasoned"
    model = "model"


def collect(
    domain: str = typer.Argument(..., help="A domain of `gentax envs`, e.g. sokoban."),
    out: Path = typer.Option(..., help="JSONL of (prompt, response) pairs."),
    policy: CollectPolicy = typer.Option(CollectPolicy.expert, help="expert (privileged where it is), "
                                         "reasoned (decides on visible information, with its reasons) or "
                                         "model (--model's own pairs, kept unfiltered)."),
    model: str | None = typer.Option(None, help="With --policy model: the model that plays."),
    temperature: float = typer.Option(0.4, min=0.0, help="With --policy model: sampling temperature."),
    episodes: int = typer.Option(100, min=1, help="Episodes to play."),
    split: Split = typer.Option(Split.train, help="Which instances: train or eval."),
    seed: int = typer.Option(0, help="Episode i plays instance seed + i."),
    max_steps: int | None = typer.Option(None, min=1, help="Step cap (default: the domain's)."),
    think: bool = typer.Option(True, "--think/--no-think", help="Answers with <think> (the policy's account "
                               "of the step) or <action> only."),
    history: int = typer.Option(2, min=0, help="Past (observation, action) pairs in the prompt."),
    prompt_style: PromptStyle = PROMPT_STYLE,
    env_arg: list[str] = ENV_ARG,
) -> None:
    """Write (state, action) pairs in the RL prompt format, for SFT (docs/training.md, SFT data)."""
    from gentax.agents.prompt import PromptConfig
    from gentax.train.collect import collect as collect_pairs

    spec = ready_domain(domain)
    if (policy is CollectPolicy.model) != (model is not None):
        fail("--model goes with --policy model, and --policy model needs --model")
    generator = load_generator(model, Backend.transformers, DType.auto, 64) if model is not None else None
    summary = collect_pairs(spec.name, episodes, out, split=split.value, seed=seed, max_steps=max_steps,
                            prompt=PromptConfig(history, think, prompt_style.value),
                            env_kwargs=env_kwargs(env_arg), policy=policy.value, generator=generator,
                            temperature=temperature)
    print(json.dumps({**summary, "out": str(out)}))  # one JSON line, never wrapped


def sft(
    ctx: typer.Context,
    data: list[str] = typer.Option(..., "--data", help="FILE[:WEIGHT]; repeat to mix (e.g. 19:3:1)."),
    out: Path = typer.Option(..., help="Folder for the fine-tuned model (or adapter)."),
    model: str = typer.Option("default", help="Starting model: 'default', a path or hub id."),
    steps: int = typer.Option(100, min=1, help="Optimizer steps."),
    batch_size: int = typer.Option(32, min=1, help="Pairs per optimizer step."),
    lr: float = typer.Option(5e-6, min=0.0, help="Peak learning rate (cosine schedule)."),
    warmup_ratio: float = typer.Option(0.1, min=0.0, max=1.0, help="Share of steps for linear warm-up."),
    micro_batch_tokens: int = typer.Option(4096, min=1, help="Padded tokens per forward/backward (memory)."),
    gradient_checkpointing: bool = typer.Option(False, help="Recompute layers in backward: less memory."),
    seed: int = typer.Option(0, help="Seeds the mix and the training."),
    lora: bool = typer.Option(False, "--lora/--no-lora", help="Train LoRA adapters and save only them (a "
                              "folder of a few MB that loads as --model anywhere; lr ~1e-4)."),
    lora_rank: int = typer.Option(16, min=1, help="With --lora: adapter rank."),
    lora_alpha: int = typer.Option(32, min=1, help="With --lora: adapter alpha (scale alpha / rank)."),
    save_every: int = typer.Option(0, min=0, help="Checkpoint every N steps in OUT.resume/: the same command "
                                   "run again after a kill resumes there (0: no checkpoints)."),
) -> None:
    """Supervised warm-up on (state, action) pairs (loss on the answer tokens, cosine schedule).
    Writes provenance.json beside the weights (the command, the data's sha256, the commit)."""
    from gentax.train.provenance import file_sha256
    from gentax.train.sft import SFTConfig, mix
    from gentax.train.sft import sft as run_sft

    files = []
    for item in data:
        path, _, weight = item.rpartition(":") if ":" in item else (item, "", "1")
        try:
            files.append((path, float(weight)))
        except ValueError:
            fail(f"--data {item!r}: the weight after ':' must be a number")
        if not Path(path).is_file():
            fail(f"--data {item!r}: no such file {path}")
    rows = mix(files, seed=seed)
    console.print(f"{len(rows)} (state, action) pairs from {len(files)} file(s)")
    cfg = SFTConfig(model=model, lr=lr, batch_size=batch_size, steps=steps, warmup_ratio=warmup_ratio,
                    micro_batch_tokens=micro_batch_tokens, gradient_checkpointing=gradient_checkpointing,
                    seed=seed, lora=lora, lora_rank=lora_rank, lora_alpha=lora_alpha, save_every=save_every)
    sources = [{"path": path, "weight": weight, "sha256": file_sha256(path),
                "pairs": sum(1 for line in Path(path).read_text().splitlines() if line.strip())}
               for path, weight in files]
    done = run_sft(rows, out, cfg, log=lambda r: console.print(
        f"sft step {r['step']} loss {r['loss']:.4f} lr {r['lr']:.2e} ({r['seconds']:.1f}s)"),
        provenance={"command": _command_line(ctx), "files": sources})
    console.print(f"{'Adapter' if lora else 'Model'} saved to {done}")


def _command_line(ctx: typer.Context) -> str:
    """The command as run, every option spelled out (defaults too), for provenance.json."""
    words = ["gentax", ctx.info_name or "sft"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        flag = "--" + param.name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list | tuple):
            words += [part for item in value for part in (flag, str(item))]
        elif value is not None:
            words += [flag, str(value)]
    return shlex.join(words)
