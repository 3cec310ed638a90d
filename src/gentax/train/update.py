"""One GRPO policy update over an RL step's (prompt, response) samples.

1. plan     - shuffle the samples into mini-batches (one optimizer step each) and those into
              micro-batches of similar length (train/batching.py);
2. old/ref  - one pass without gradients over the first epoch's micro-batches gives every
              response token its log-prob under the current weights (the PPO "old" policy, as
              verl computes it: the trainer's own forward, not the sampler's) and under the
              frozen reference. The forward is the same one the update runs, on the same
              micro-batches, so the first mini-batch's ratio is exactly 1; the sampler's
              log-probs stay in the samples and their gap to the trainer's is logged;
3. optimise - per mini-batch: PPO-clip + KL loss (train/grpo.py), token mean over the whole
              mini-batch, backward per micro-batch, gradient clipping, one optimizer step;
              `ppo_epochs` passes over the data, reshuffled each time.
Log-probs are read at the sampling temperature (logits / T), the distribution sampled from.

Over several processes (train/distributed.py) every rank is given all the samples and plans the
same mini-batches; each takes its share of every mini-batch (dealt by length, so the ranks'
token counts are close), the loss still divides by the whole mini-batch's token count, and the
gradients are summed over the ranks before clipping: the optimizer step is the one a single
process takes on the same samples (tested). Old and reference log-probs are computed by the
rank that trains on the sample in the first epoch, then shared with all.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gentax.train.batching import Batch, Sample, collate, micro_batches, mini_batches
from gentax.train.distributed import gather_lists, rank_and_size, reduce_floats, sum_gradients
from gentax.train.grpo import grpo_loss
from gentax.train.logprobs import reference_logprobs, response_logprobs

OLD_LOGPROBS = ("trainer", "sampler")


@dataclass
class UpdateStats:
    loss: float
    policy_loss: float
    kl: float
    clip_fraction: float
    ratio_mean: float
    ratio_max: float  # over all tokens of the update
    first_ratio_max_deviation: float  # max |ratio - 1| on the first mini-batch (0 with trainer old log-probs)
    entropy: float
    grad_norm: float
    sampler_gap: float  # mean |sampler log-prob - trainer log-prob| per response token, before the update
    sampler_gap_max: float
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
    micro_batch_tokens: int = 4096,
    clip_eps: float = 0.2,
    kl_coef: float = 0.01,
    max_grad_norm: float = 1.0,
    temperature: float = 1.0,
    autocast_bf16: bool = False,
    scheduler=None,
    backward: Callable[[torch.Tensor], None] | None = None,
    ppo_epochs: int = 1,
    seed: int = 0,
    old_logprobs: str = "trainer",
) -> UpdateStats:
    """Optimise the GRPO loss over `samples` (see the module docstring).

    `ref_model`: the frozen reference (None: no KL term); for a LoRA policy pass the policy
    itself (the reference is then the policy with its adapters off). `old_logprobs`: "trainer"
    (default) or "sampler" (the rollout's log-probs as the old policy). `backward`: e.g.
    Accelerate's `accelerator.backward` (default: `loss.backward()`)."""
    if old_logprobs not in OLD_LOGPROBS:
        raise ValueError(f"old_logprobs must be one of {OLD_LOGPROBS}, got {old_logprobs!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 (greedy decoding samples nothing), got {temperature}")
    device = next(model.parameters()).device
    amp = torch.autocast(device.type, dtype=torch.bfloat16) if autocast_bf16 else contextlib.nullcontext()
    rng = random.Random(seed)  # the same on every rank: so are the mini-batches
    rank, size = rank_and_size()
    lengths = [s.length for s in samples]
    response_tokens = [len(s.response_ids) for s in samples]

    def plan() -> list[tuple[int, list[list[int]]]]:
        """Per mini-batch: its response token count (over all ranks) and this rank's
        micro-batches of sample indices."""
        out = []
        for mini in mini_batches(len(samples), mini_batch_size, rng):
            mine = sorted(mini, key=lengths.__getitem__)[rank::size]  # one process: all of it
            groups = micro_batches([lengths[i] for i in mine], micro_batch_size, micro_batch_tokens)
            tokens = sum(response_tokens[i] for i in mini)
            out.append((tokens, [[mine[j] for j in group] for group in groups]))
        return out

    # 2. old and reference log-probs, one pass over the first epoch's micro-batches
    first_plan = plan()
    old: list[torch.Tensor] = [torch.tensor(s.sampler_logprobs) for s in samples]
    ref: list[torch.Tensor | None] = [None] * len(samples)
    gap_sum = gap_max = 0.0
    gap_tokens = 0
    use_ref = ref_model is not None and kl_coef > 0
    if old_logprobs == "trainer" or use_ref:
        model.eval()  # no dropout: the old policy is the deterministic current one
        for group in (g for _, mini in first_plan for g in mini):
            batch = collate([samples[i] for i in group], pad_id).to(device)
            with torch.no_grad(), amp:
                trainer_logp = None
                if old_logprobs == "trainer":
                    trainer_logp = response_logprobs(model, batch, temperature)[0]
                ref_logp = reference_logprobs(ref_model, model, batch, temperature) if use_ref else None
            for row, i in enumerate(group):
                r = len(samples[i].response_ids)
                if ref_logp is not None:
                    ref[i] = ref_logp[row, :r].float().cpu()
                if trainer_logp is not None:
                    mine = trainer_logp[row, :r].float().cpu()
                    if samples[i].sampler_logprobs:
                        diff = (old[i] - mine).abs()
                        gap_sum, gap_tokens = gap_sum + float(diff.sum()), gap_tokens + r
                        gap_max = max(gap_max, float(diff.max()))
                    old[i] = mine
        if size > 1:  # every rank gets every sample's log-probs (later epochs deal them anew)
            computed = [(i, old[i], ref[i]) for _, mini in first_plan for group in mini for i in group]
            for i, old_i, ref_i in gather_lists(computed):
                old[i], ref[i] = old_i, ref_i
    for i, s in enumerate(samples):
        if len(old[i]) != len(s.response_ids):
            raise ValueError(f"sample {i}: no sampler log-probs to use as the old policy")

    # 3. optimise
    model.train()
    totals = dict.fromkeys(("loss", "policy_loss", "kl", "clip_fraction", "ratio_mean", "entropy",
                            "grad_norm"), 0.0)
    ratio_max, first_dev = 0.0, 0.0
    tokens, steps, start = 0, 0, time.perf_counter()
    trainable = [p for p in model.parameters() if p.requires_grad]
    for epoch in range(ppo_epochs):
        for total_tokens, mini in first_plan if epoch == 0 else plan():
            n_tokens = float(total_tokens)  # the whole mini-batch's, whichever rank holds the tokens
            if n_tokens == 0:
                continue
            optimizer.zero_grad(set_to_none=True)
            for group in mini:
                batch = collate([samples[i] for i in group], pad_id).to(device)
                old_t = _rows([old[i] for i in group], batch).to(device)
                ref_t = _rows([ref[i] for i in group], batch).to(device) if use_ref else None
                with amp:
                    logp, entropy = response_logprobs(model, batch, temperature, with_entropy=True)
                loss, stats = grpo_loss(logp, old_t, ref_t, batch.advantages, batch.response_mask,
                                        clip_eps, kl_coef, token_count=n_tokens)
                (backward or torch.Tensor.backward)(loss)
                share = float(batch.response_mask.sum()) / n_tokens
                totals["loss"] += stats.loss  # already normalised by the mini-batch's token count
                for key in ("policy_loss", "kl", "clip_fraction", "ratio_mean"):
                    totals[key] += share * getattr(stats, key)
                totals["entropy"] += share * float(entropy.sum() / batch.response_mask.sum().clamp(min=1))
                ratio_max = max(ratio_max, stats.ratio_max)
                if steps == 0:
                    with torch.no_grad():
                        dev = ((logp.detach().float() - old_t).exp() - 1).abs() * batch.response_mask
                    first_dev = max(first_dev, float(dev.max()))
            sum_gradients(trainable)  # each rank's loss is its part of the global token mean
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm or float("inf"))
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            totals["grad_norm"] += float(grad_norm)
            tokens += int(n_tokens)
            steps += 1
    elapsed = time.perf_counter() - start
    # every rank's parts of the token means add up; the gradient norm is already the global one
    summed = [k for k in totals if k != "grad_norm"]
    *parts, gap_sum, gap_tokens = reduce_floats([totals[k] for k in summed] + [gap_sum, gap_tokens], "sum")
    totals.update(zip(summed, parts, strict=True))
    ratio_max, first_dev, gap_max = reduce_floats([ratio_max, first_dev, gap_max], "max")
    means = {k: v / max(steps, 1) for k, v in totals.items()}  # mean over optimizer steps
    return UpdateStats(**means, ratio_max=ratio_max, first_ratio_max_deviation=first_dev,
                       sampler_gap=gap_sum / max(gap_tokens, 1), sampler_gap_max=gap_max, tokens=tokens,
                       tokens_per_s=tokens / max(elapsed, 1e-9), optimizer_steps=steps)


def _rows(rows: list[torch.Tensor], batch: Batch) -> torch.Tensor:
    """Per-sample log-prob vectors as a [B, T] tensor aligned with the batch's response columns."""
    out = torch.zeros(batch.response_ids.shape)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
