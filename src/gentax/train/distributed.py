"""Data parallelism across processes: every rank holds the whole model, and the ranks meet only
in the collectives of this module (all of them no-ops in one process).

How `gentax train` splits the work (docs/training.md, "Several processes"):
- rollouts: each rank plays whole GRPO groups (its share of the step's instances), then every
  rank receives every episode, so advantages, samples and metrics are computed over all of them,
  identically on every rank;
- update: every rank plans the same mini-batches (same seeded shuffle) and takes its share of
  each; the loss divides by the whole mini-batch's token count, and the gradients are summed
  across ranks once per optimizer step, so the step is the one a single process would take.

No DDP wrapper: the update's forward calls the decoder and then the LM head only where an
answer token is predicted (train/logprobs.py), which would bypass DDP's forward and so its
gradient hooks; and gradients need to meet only once per optimizer step anyway. Summing them
here, explicitly, also means no forward or backward is a collective: ranks may run different
numbers of decoding steps and micro-batches without a hang. The collectives (gathers of
episodes and log-probs, the gradient sum, the metric reductions, the checkpoint barrier) run
the same number of times on every rank because every rank takes the same decisions from the
same gathered data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist

# Accelerate's DistributedType names that run here: one process, or data parallel (tested on
# CPUs with gloo; MULTI_GPU is the same code with NCCL, not run on several GPUs yet)
DATA_PARALLEL = ("NO", "MULTI_CPU", "MULTI_GPU")
# What `accelerate launch --use_deepspeed` etc. set: where the trainer asks for the CPU (no CUDA),
# accelerate reports MULTI_CPU under DeepSpeed's flag, so the request is read from the flags too.
SHARDED_FLAGS = {"ACCELERATE_USE_FSDP": "FSDP", "ACCELERATE_USE_DEEPSPEED": "DEEPSPEED",
                 "ACCELERATE_USE_MEGATRON_LM": "MEGATRON_LM"}


def refuse_untested(distributed_type: Any, environ: Mapping[str, str] | None = None) -> None:
    """Only one process, or data parallelism over several, is built and tested; FSDP, DeepSpeed
    and the rest would shard the model this trainer treats as whole (docs/training.md)."""
    environ = os.environ if environ is None else environ
    asked = [kind for flag, kind in SHARDED_FLAGS.items() if environ.get(flag, "").lower() == "true"]
    name = asked[0] if asked else getattr(distributed_type, "name", str(distributed_type))
    if name not in DATA_PARALLEL:
        raise RuntimeError(
            f"gentax train runs in one process or data-parallel over several (accelerate launch "
            f"--multi_gpu, or torchrun); distributed_type {name} is not supported (untested: "
            "docs/training.md, several processes)")


def rank_and_size() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _device() -> torch.device:
    """Where collective tensors must live: NCCL works on CUDA tensors only."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def gather_lists(items: list) -> list:
    """Every rank's `items` (picklable), concatenated in rank order, on every rank."""
    if rank_and_size()[1] == 1:
        return list(items)
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, items)
    return [item for part in parts for item in part]


def reduce_floats(values: list[float], op: str) -> list[float]:
    """Element-wise "sum" or "max" of `values` over the ranks."""
    if rank_and_size()[1] == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=_device())
    dist.all_reduce(t, op={"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX}[op])
    return t.tolist()


def sum_gradients(params: list[torch.nn.Parameter]) -> None:
    """Replace each parameter's gradient by its sum over the ranks (a rank with no samples in
    this mini-batch contributes zeros)."""
    if rank_and_size()[1] == 1:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    handles = [dist.all_reduce(p.grad, async_op=True) for p in params]
    for handle in handles:
        handle.wait()


def broadcast_weights(model: torch.nn.Module) -> None:
    """Rank 0's parameters and buffers on every rank: the replicas start identical (as DDP
    makes them) and then stay so, since every rank applies the same summed gradients."""
    if rank_and_size()[1] == 1:
        return
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            dist.broadcast(t.data, src=0)


def barrier() -> None:
    if rank_and_size()[1] > 1:
        dist.barrier()
