"""The GRPO objective of the study, written as its equations.

Trajectory-level GRPO (docs/paper.md): G rollouts of the same task instance form a group; the
advantage of a trajectory is (return - group mean) / (group std + eps) and every action of that
trajectory gets it. Each step is its own sample (prompt, response). Loss per response token:
PPO-clip surrogate with the rollout's log-probs as the old policy, plus kl_coef times the
low-variance KL estimator to a frozen reference ("k3": exp(r) - r - 1, r = log pi_ref - log pi).
Aggregation is the token mean over the mini-batch. As in verl, log-ratios are masked before
`exp` (padding can never make inf x 0 = NaN) and clamped to +-20, and the k3 term to +-10.

Shapes: N trajectories, B samples (steps) in a mini-batch, T response tokens (padded).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def group_advantages(returns: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6,
                     scale: bool = True) -> torch.Tensor:
    """returns [N], group_ids [N] -> advantages [N].

    The std is the unbiased sample std, as in DeepSeekMath / verl; a group of one has no spread
    and gets advantage 0, as does a group whose returns are all equal. `scale=False` only
    subtracts the group mean (GiGPO's `mean_norm`, train/gigpo.py)."""
    returns = returns.to(torch.float64)
    adv = torch.zeros_like(returns)
    for g in torch.unique(group_ids):
        idx = group_ids == g
        r = returns[idx]
        if r.numel() < 2:
            continue
        adv[idx] = (r - r.mean()) / (r.std(unbiased=True) + eps) if scale else r - r.mean()
    return adv.to(torch.float32)


def zero_variance_share(returns: torch.Tensor, group_ids: torch.Tensor) -> float:
    """Share of groups whose returns are all equal (they carry no learning signal)."""
    groups = torch.unique(group_ids)
    flat = sum(bool(torch.all(returns[group_ids == g] == returns[group_ids == g][0])) for g in groups)
    return flat / max(len(groups), 1)


@dataclass
class LossStats:
    loss: float
    policy_loss: float
    kl: float  # mean k3 estimate per response token
    clip_fraction: float  # share of tokens where the clipped term was the active one
    ratio_mean: float
    ratio_max: float


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    kl_coef: float = 0.01,
    token_count: float | None = None,
) -> tuple[torch.Tensor, LossStats]:
    """logp / old_logp / ref_logp / mask: [B, T]; advantages: [B].

    `token_count`: the number of response tokens of the whole mini-batch when it is split in
    micro-batches (so the sum of micro-batch losses is the mini-batch token mean)."""
    mask = mask.to(logp.dtype)
    denom = token_count if token_count is not None else mask.sum().clamp(min=1.0)
    adv = advantages.to(logp.dtype).unsqueeze(1)  # [B, 1], one advantage per sample
    ratio = torch.exp(torch.clamp((logp - old_logp) * mask, -20.0, 20.0))  # [B, T]
    unclipped = -adv * ratio
    clipped = -adv * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    policy_tok = torch.maximum(unclipped, clipped)  # pessimistic bound, as in PPO
    if ref_logp is not None and kl_coef:
        log_r = torch.clamp((ref_logp - logp) * mask, -20.0, 20.0)
        kl_tok = torch.clamp(torch.exp(log_r) - log_r - 1.0, max=10.0)  # k3: unbiased, always >= 0
    else:
        kl_tok = torch.zeros_like(logp)
    loss = ((policy_tok + kl_coef * kl_tok) * mask).sum() / denom
    with torch.no_grad():
        n = mask.sum().clamp(min=1.0)
        stats = LossStats(
            loss=loss.item(),
            policy_loss=float((policy_tok * mask).sum() / n),
            kl=float((kl_tok * mask).sum() / n),
            clip_fraction=float(((clipped > unclipped).to(mask.dtype) * mask).sum() / n),
            ratio_mean=float((ratio * mask).sum() / n),
            ratio_max=float((ratio * mask).max()) if mask.any() else 1.0,
        )
    return loss, stats
