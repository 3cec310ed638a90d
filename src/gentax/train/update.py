"""One GRPO policy update over a batch of (prompt, response) samples.

Each environment step is its own sample. Samples are packed right-padded into micro-batches
of similar length; the log-prob of response token t is read from the logits at position t-1,
scaled by the sampling temperature so that it matches the rollout's log-probs (the old policy).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gentax.train.grpo import LossStats, grpo_loss


def lr_factor(total_steps: int, warmup_steps: int, cosine: bool) -> Callable[[int], float]:
    """Linear warm-up, then constant or cosine decay to 0 (for torch's LambdaLR)."""

    def factor(i: int) -> float:
        if i < warmup_steps:
            return (i + 1) / warmup_steps
        if cosine:
            progress = min(1.0, (i - warmup_steps) / max(total_steps - warmup_steps, 1))
            return 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    return factor


@dataclass
class Sample:
    prompt_ids: list[int]
    response_ids: list[int]
    old_logprobs: list[float]  # one per response token, from the rollout
    advantage: float


@dataclass
class Batch:
    input_ids: torch.Tensor  # [B, L] prompt + response, right-padded
    attention_mask: torch.Tensor  # [B, L]
    response_mask: torch.Tensor  # [B, L-1] 1 where position t+1 is a response token
    targets: torch.Tensor  # [B, L-1] the next token at each position
    old_logprobs: torch.Tensor  # [B, L-1] aligned with response_mask
    advantages: torch.Tensor  # [B]


def collate(samples: list[Sample], pad_id: int) -> Batch:
    length = max(len(s.prompt_ids) + len(s.response_ids) for s in samples)
    b = len(samples)
    ids = torch.full((b, length), pad_id, dtype=torch.long)
    attn = torch.zeros((b, length), dtype=torch.long)
    resp = torch.zeros((b, length - 1))
    old = torch.zeros((b, length - 1))
    for i, s in enumerate(samples):
        p, r = len(s.prompt_ids), len(s.response_ids)
        ids[i, : p + r] = torch.tensor(s.prompt_ids + s.response_ids)
        attn[i, : p + r] = 1
        resp[i, p - 1 : p + r - 1] = 1  # logits at p-1 predict the first response token
        if s.old_logprobs:  # empty: not known yet (e.g. when only reading log-probs)
            if len(s.old_logprobs) != r:
                raise ValueError(f"sample {i}: {len(s.old_logprobs)} old log-probs for {r} response tokens")
            old[i, p - 1 : p + r - 1] = torch.tensor(s.old_logprobs, dtype=torch.float32)
    adv = torch.tensor([s.advantage for s in samples], dtype=torch.float32)
    return Batch(ids, attn, resp, ids[:, 1:], old, adv)


def token_logprobs(
    model: torch.nn.Module, batch: Batch, temperature: float = 1.0, with_entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-prob of every next token [B, L-1] (and the entropy of each distribution).

    Only positions from the batch's earliest response token on go through the LM head (the
    others read 0): prompts are most of each sequence, and the head's [L, vocab] logits are
    the largest tensor of the pass."""
    first = first_response_position(batch.response_mask)
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                   logits_to_keep=batch.input_ids.size(1) - first).logits[:, :-1]
    logits = logits.float() / max(temperature, 1e-6)
    logp_all = F.log_softmax(logits, dim=-1)
    logp = _pad_left(logp_all.gather(-1, batch.targets[:, first:].unsqueeze(-1)).squeeze(-1), first)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = _pad_left(-(logp_all.exp() * logp_all).sum(-1), first)
    return logp, entropy


def first_response_position(response_mask: torch.Tensor) -> int:
    """The earliest position (over the batch) whose logits predict a response token."""
    has = response_mask.any(dim=0).nonzero()
    return int(has[0]) if len(has) else 0


def _pad_left(values: torch.Tensor, width: int) -> torch.Tensor:
    return torch.cat([values.new_zeros(values.size(0), width), values], dim=1)


@dataclass
class UpdateStats:
    loss: float
    policy_loss: float
    kl: float
    clip_fraction: float
    entropy: float
    grad_norm: float
    tokens: int
    tokens_per_s: float
    optimizer_steps: int


def policy_update(
    model: torch.nn.Module,
    ref_model: torch.nn.Module | None,
    optimizer: torch.optim.Optimizer,
    samples: list[Sample],
    pad_id: int,
    mini_batch_size: int,
    micro_batch_size: int,
    clip_eps: float = 0.2,
    kl_coef: float = 0.01,
    max_grad_norm: float = 1.0,
    temperature: float = 1.0,
    autocast_bf16: bool = False,
    scheduler=None,
    backward: Callable[[torch.Tensor], None] | None = None,
) -> UpdateStats:
    """Optimise the GRPO loss over `samples` in mini-batches (one optimizer step each).

    `backward`: e.g. Accelerate's `accelerator.backward` (default: `loss.backward()`)."""
    device = next(model.parameters()).device
    amp = torch.autocast(device.type, dtype=torch.bfloat16) if autocast_bf16 else contextlib.nullcontext()
    model.train()
    totals: dict[str, float] = {"loss": 0.0, "policy_loss": 0.0, "kl": 0.0, "clip_fraction": 0.0,
                                "entropy": 0.0, "grad_norm": 0.0}
    tokens, steps, start = 0, 0, time.perf_counter()
    for lo in range(0, len(samples), mini_batch_size):
        mini = samples[lo : lo + mini_batch_size]
        n_tokens = float(sum(len(s.response_ids) for s in mini))
        if n_tokens == 0:
            continue
        optimizer.zero_grad(set_to_none=True)
        # Similar lengths share a micro-batch: less padding to compute.
        mini = sorted(mini, key=lambda s: len(s.prompt_ids) + len(s.response_ids))
        for mlo in range(0, len(mini), micro_batch_size):
            batch = _to(collate(mini[mlo : mlo + micro_batch_size], pad_id), device)
            with amp:
                logp, entropy = token_logprobs(model, batch, temperature, with_entropy=True)
                ref_logp = None
                if ref_model is not None and kl_coef:
                    with torch.no_grad():
                        ref_logp, _ = token_logprobs(ref_model, batch, temperature)
            loss, stats = grpo_loss(logp, batch.old_logprobs, ref_logp, batch.advantages,
                                    batch.response_mask, clip_eps, kl_coef, token_count=n_tokens)
            (backward or torch.Tensor.backward)(loss)
            share = float(batch.response_mask.sum()) / n_tokens
            _accumulate(totals, stats, share)
            mask = batch.response_mask
            totals["entropy"] += share * float((entropy * mask).sum() / mask.sum().clamp(min=1))
        grad_norm = torch.nn.utils.clip_grad_norm_(
            [p for p in model.parameters() if p.requires_grad], max_grad_norm or float("inf"))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        totals["grad_norm"] += float(grad_norm)
        tokens += int(n_tokens)
        steps += 1
    elapsed = time.perf_counter() - start
    means = {k: v / max(steps, 1) for k, v in totals.items()}  # mean over optimizer steps
    per_s = tokens / max(elapsed, 1e-9)
    return UpdateStats(**means, tokens=tokens, tokens_per_s=per_s, optimizer_steps=steps)


def _accumulate(totals: dict[str, float], stats: LossStats, share: float) -> None:
    """Add a micro-batch's stats, weighted by its share of the mini-batch's tokens."""
    totals["loss"] += stats.loss  # already normalised by the mini-batch's token count
    totals["policy_loss"] += share * stats.policy_loss
    totals["kl"] += share * stats.kl
    totals["clip_fraction"] += share * stats.clip_fraction


def _to(batch: Batch, device: torch.device) -> Batch:
    return Batch(*(t.to(device) for t in (batch.input_ids, batch.attention_mask, batch.response_mask,
                                          batch.targets, batch.old_logprobs, batch.advantages)))
