"""`gentax train`: multi-turn GRPO over whole trajectories (docs/paper.md), readable top to bottom.

One RL step:
  1. collect  - pick a training domain (by the config's weights) and `instances_per_step`
                instances; play `group_size` rollouts of each at the rollout temperature,
                every live episode's prompt answered in one batched generate call per turn;
  2. advantage- (return - group mean) / group std per trajectory, given to all of its steps;
                with `advantage: gigpo`, plus a step-level term from anchor states (train/gigpo.py);
  3. update   - each step is a sample (prompt, response); old and reference log-probs from
                the trainer's own forward, then PPO-clip + KL to the frozen reference, token
                mean, shuffled mini-batches, gradient clipping (train/update.py);
  4. log      - metrics.jsonl; validate on the eval split every `val_every` steps;
  5. save     - a checkpoint every `save_every` steps, atomically; `--resume` continues.
Everything random in step k is drawn from a generator seeded by (seed, k), so a resumed run
takes exactly the steps an uninterrupted one would have taken.

Under `accelerate launch --multi_gpu` or `torchrun` the processes share the work of every step
(train/distributed.py): each plays whole groups, all see all episodes, each trains on its share
of every mini-batch; rank 0 alone writes metrics and checkpoints.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator

from gentax.agents.models import load_for_training
from gentax.agents.prompt import PromptConfig
from gentax.augment import AugmentConfig
from gentax.rollout.batched import run_batched
from gentax.rollout.episodes import Episode, episode_metrics
from gentax.rollout.generation import Sampling, make_generator
from gentax.rollout.pool import EnvPool, make_pool
from gentax.train.batching import Sample
from gentax.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gentax.train.config import TrainConfig
from gentax.train.distributed import barrier, broadcast_weights, gather_lists, rank_and_size, refuse_untested
from gentax.train.gigpo import anchor_groups, anchor_stats, gigpo_advantages
from gentax.train.grpo import group_advantages, zero_variance_share
from gentax.train.lora import add_lora
from gentax.train.schedule import lr_factor
from gentax.train.update import policy_update


def _schedule(cfg: TrainConfig, optimizer: torch.optim.Optimizer):
    total = max(cfg.steps, 1)
    factor = lr_factor(total, int(cfg.warmup_ratio * total), cfg.lr_schedule == "cosine")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_policy(cfg: TrainConfig):
    """The trainable model (full or LoRA), its frozen reference, and its generator.

    The reference of a LoRA policy is the policy itself (its adapters are switched off for the
    reference pass); otherwise a frozen copy in `ref_dtype` (by default the compute dtype: bf16
    where matmuls run under bf16 autocast, since it needs no fp32 master weights)."""
    loaded = load_for_training(cfg.model, dtype=cfg.dtype)
    model = loaded.model
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.lora:
        model = add_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lr)
        loaded.model = model
        ref = model if cfg.kl_coef else None
    else:
        ref = None
        if cfg.kl_coef:
            compute = torch.bfloat16 if loaded.autocast_bf16 else next(model.parameters()).dtype
            dtype = {"auto": compute, "float32": torch.float32, "bfloat16": torch.bfloat16}[cfg.ref_dtype]
            ref = copy.deepcopy(model).to(dtype).eval().requires_grad_(False)
    generator = make_generator("transformers", loaded)
    return loaded, model, ref, generator


def step_advantages(cfg: TrainConfig, episodes: list[Episode]) -> tuple[list[list[float]], dict[str, float]]:
    """The advantage of every step of every episode, and the anchor-state metrics (logged with
    GRPO too: they say whether GiGPO would have step-level groups to work with in a domain)."""
    metrics = anchor_stats(anchor_groups(episodes))
    if cfg.advantage == "gigpo":
        credit = gigpo_advantages(episodes, cfg.gigpo_gamma, cfg.gigpo_omega, cfg.gigpo_norm)
        return credit.advantages, {**metrics, "step_advantage_std": credit.step_advantage_std}
    returns = torch.tensor([e.total_reward for e in episodes])
    per_episode = group_advantages(returns, torch.tensor([e.seed for e in episodes])).tolist()
    return [[adv] * e.length for adv, e in zip(per_episode, episodes, strict=True)], metrics


def episodes_to_samples(
    episodes: list[Episode], advantages: list[list[float]], tokenizer, max_prompt_tokens: int, skip_zero: bool
) -> tuple[list[Sample], int]:
    """One sample per step (`advantages`: one per step of each episode); returns (samples,
    number of steps dropped for an overlong prompt)."""
    samples, overlong = [], 0
    for episode, step_advs in zip(episodes, advantages, strict=True):
        for step, adv in zip(episode.steps, step_advs, strict=True):
            if skip_zero and adv == 0.0:
                continue  # no policy gradient: only the KL term, not worth its compute on a CPU
            prompt_ids = tokenizer(step.prompt, add_special_tokens=False)["input_ids"]
            if len(prompt_ids) > max_prompt_tokens:
                overlong += 1
                continue
            if step.token_ids:
                samples.append(Sample(prompt_ids, list(step.token_ids), list(step.logprobs), adv))
    return samples, overlong


def validate(cfg: TrainConfig, generator, domains: list[str],
             pool: EnvPool | None = None) -> dict[str, float]:
    """Success etc. on the eval split, fixed instances, validation temperature, eval mode
    (instances dealt over the processes, metrics over all of them)."""
    generator.loaded.model.eval()
    rank, size = rank_and_size()
    out: dict[str, float] = {}
    for domain in domains:
        instances = list(range(cfg.val_episodes))[rank::size]
        episodes = gather_lists(run_batched(
            domain, instances, generator, split="eval",
            max_steps=cfg.max_env_steps.get(domain), max_prompt_tokens=cfg.prompt_tokens(domain),
            prompt=PromptConfig(cfg.history, cfg.think, cfg.prompt_style),
            sampling=Sampling(max_new_tokens=cfg.response_tokens(domain),
                              temperature=cfg.val_temperature, seed=cfg.seed),
            env_kwargs=cfg.env_kwargs.get(domain), pool=pool,
        ) if instances else [])
        for key, value in episode_metrics(episodes).items():
            out[f"val/{domain}/{key}"] = value
    return out


def train(
    cfg: TrainConfig, resume: bool = False, log: Callable[[dict], None] | None = None,
    stop_after: int | None = None,
) -> Path:
    """Run GRPO as configured; returns the run folder. `stop_after`: leave after that step, as
    a killed run would (a later `resume=True` call goes on from the last checkpoint)."""
    accelerator = Accelerator(cpu=not torch.cuda.is_available())  # joins the processes, if several
    refuse_untested(accelerator.distributed_type)
    if accelerator.mixed_precision != "no":
        warnings.warn(f"accelerate's mixed_precision={accelerator.mixed_precision} is not used: the "
                      "config's `dtype` sets the precision (auto: bf16 autocast where the hardware has it)",
                      stacklevel=2)
    rank, size = accelerator.process_index, accelerator.num_processes
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:
        (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    torch.manual_seed(cfg.seed)
    loaded, model, ref, generator = build_policy(cfg)  # on this process's device
    envs = make_pool(cfg.env_pool, cfg.env_workers, cfg.ray_address or None)  # where envs run
    try:
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=0.0)
        # Not prepared by Accelerate: no DDP wrapper (train/distributed.py says why), no AMP
        # wrapper (the config's dtype decides).
        scheduler = _schedule(cfg, optimizer)
        domains = list(cfg.domains)
        weights = np.array([cfg.domains[d] for d in domains], dtype=float)
        weights /= weights.sum()
        metrics_path = run_dir / "metrics.jsonl"

        start = 0
        checkpoints = list_checkpoints(run_dir)
        if resume and checkpoints:  # every rank loads it (one file system for all processes)
            start = load_checkpoint(checkpoints[-1], model, optimizer, scheduler)["step"]
            if accelerator.is_main_process:
                _truncate_metrics(metrics_path, start)  # steps after the checkpoint are redone
        elif metrics_path.exists() and accelerator.is_main_process:
            metrics_path.unlink()
        broadcast_weights(model)
        if start == 0 and cfg.val_every:
            _write(metrics_path, {"step": 0, **validate(cfg, generator, domains, envs)}, log)

        for step in range(start + 1, cfg.steps + 1):
            rng = np.random.default_rng([cfg.seed, step, 0])  # the same draws on every rank
            timings: dict[str, float] = {}

            # 1. collect: G rollouts of each of the step's instances, batched across all episodes;
            # several processes each play whole groups (their share of the instances), then all
            # receive all episodes
            t0 = time.perf_counter()
            domain = domains[int(rng.choice(len(domains), p=weights))]
            seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=cfg.instances_per_step)]
            augment = (AugmentConfig(cfg.augment_eps, cfg.augment_prob, cfg.augment_kind, cfg.seed + step)
                       if cfg.augment_eps else None)
            sampling = Sampling(max_new_tokens=cfg.response_tokens(domain),
                                temperature=cfg.rollout_temperature, seed=int(rng.integers(2**31)) + rank)
            mine = seeds[rank::size]
            model.eval()
            episodes = gather_lists(run_batched(
                domain, mine, generator, group_size=cfg.group_size, split="train",
                max_steps=cfg.max_env_steps.get(domain), max_prompt_tokens=cfg.prompt_tokens(domain),
                prompt=PromptConfig(cfg.history, cfg.think, cfg.prompt_style), sampling=sampling,
                augment=augment, env_kwargs=cfg.env_kwargs.get(domain), pool=envs,
            ) if mine else [])
            timings["rollout_s"] = time.perf_counter() - t0

            # 2. advantages: one per trajectory, normalised within its group (same instance), given
            # to each of its steps; GiGPO adds each step's within its anchor-state group
            returns = torch.tensor([e.total_reward for e in episodes])
            groups = torch.tensor([e.seed for e in episodes])
            advantages, credit_metrics = step_advantages(cfg, episodes)

            # 3. update on every step of every trajectory that carries a signal
            t0 = time.perf_counter()
            samples, overlong = episodes_to_samples(
                episodes, advantages, loaded.tokenizer, cfg.prompt_tokens(domain),
                cfg.skip_zero_advantage)
            stats = None
            if samples:
                stats = policy_update(
                    model, ref, optimizer, samples, pad_id=loaded.tokenizer.pad_token_id,
                    mini_batch_size=cfg.mini_batch_size, micro_batch_size=cfg.micro_batch_size,
                    micro_batch_tokens=cfg.micro_batch_tokens, clip_eps=cfg.clip_eps, kl_coef=cfg.kl_coef,
                    max_grad_norm=cfg.max_grad_norm, temperature=cfg.rollout_temperature,
                    autocast_bf16=loaded.autocast_bf16,
                    ppo_epochs=cfg.ppo_epochs, seed=int(rng.integers(2**31)), old_logprobs=cfg.old_logprobs)
            scheduler.step()
            timings["update_s"] = time.perf_counter() - t0

            # 4. log (and validate)
            record: dict[str, Any] = {"step": step, "domain": domain, **episode_metrics(episodes),
                                      "zero_variance_groups": zero_variance_share(returns, groups),
                                      **credit_metrics,
                                      "samples": len(samples), "overlong_prompts": overlong,
                                      "lr": scheduler.get_last_lr()[0]}
            if stats:
                record.update(dataclasses.asdict(stats))
            if cfg.val_every and (step % cfg.val_every == 0 or step == cfg.steps):
                t0 = time.perf_counter()
                record.update(validate(cfg, generator, domains, envs))
                timings["validate_s"] = time.perf_counter() - t0

            # 5. checkpoint, then the metrics line: a logged step is always a saved or redoable one.
            # Rank 0 writes the whole model (every rank holds all of it); no rank goes on, or
            # resumes, before the checkpoint is there
            if step % cfg.save_every == 0 or step == cfg.steps:
                t0 = time.perf_counter()
                if accelerator.is_main_process:
                    save_checkpoint(run_dir, step, model, optimizer, scheduler, {"model": cfg.model},
                                    trainable_only=cfg.lora, keep_last=cfg.keep_last or None)
                barrier()
                timings["save_s"] = time.perf_counter() - t0
            _write(metrics_path, {**record, **timings}, log)
            if stop_after is not None and step >= stop_after:
                break
    finally:
        envs.close()  # engines (JVMs, planners) and worker processes go with the run
    return run_dir


def _write(path: Path, record: dict, log: Callable[[dict], None] | None) -> None:
    if rank_and_size()[0] != 0:
        return
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")
    if log:
        log(record)


def _truncate_metrics(path: Path, last_step: int) -> None:
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if json.loads(line)["step"] <= last_step]
    path.write_text("".join(line + "\n" for line in kept))
