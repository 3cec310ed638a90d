"""SFT warm-up / mid-training (docs/paper.md): (state, action) pairs in the RL prompt format.

`collect` (train/collect.py, re-exported here) writes the pairs of the expert, of a
visible-information policy with its reasons, or of a model (docs/training.md, "SFT data").
`sft` mixes several such files by (state, action) pairs in given ratios (the paper's 19:3:1),
trains on the answer tokens only, with a cosine schedule and linear warm-up, and saves a model
folder (or, with `lora`, an adapter folder) that `gentax train` and `gentax eval` take as `--model`.
With `save_every`, a killed SFT resumes: the same call continues from its last checkpoint (in
OUT.resume/, removed once the model is saved) and ends with the weights of an uncut run.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from gentax.agents.prompt import chat_messages
from gentax.config import check
from gentax.config import option as _f
from gentax.train.batching import Sample, collate, micro_batches
from gentax.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from gentax.train.collect import collect, template_thought  # noqa: F401  (their home before)
from gentax.train.logprobs import response_logprobs
from gentax.train.lora import add_lora, save_adapter
from gentax.train.provenance import rows_sha256, write_provenance
from gentax.train.schedule import lr_factor


def mix(files: list[tuple[str, float]], seed: int = 0) -> list[dict]:
    """Pairs from each file in the ratio of the weights, as many as the files allow."""
    data = [[json.loads(line) for line in Path(p).read_text().splitlines() if line.strip()]
            for p, _ in files]
    for (path, weight), rows in zip(files, data, strict=True):
        if weight <= 0:
            raise ValueError(f"{path}: weight must be > 0, got {weight}")
        if not rows:
            raise ValueError(f"{path}: no (state, action) pairs")
    scale = min(len(rows) / w for rows, (_, w) in zip(data, files, strict=True))
    rng = random.Random(seed)
    picked = []
    for rows, (_, w) in zip(data, files, strict=True):
        picked += rng.sample(rows, max(1, int(scale * w)))
    rng.shuffle(picked)
    return picked


@dataclass
class SFTConfig:
    """The SFT warm-up's settings (defaults: the paper's V2 warm-up, docs/paper.md)."""

    model: str = _f("default", "starting model: 'default', a path or hub id")
    lr: float = _f(5e-6, "peak learning rate (cosine schedule)", min=0.0)
    batch_size: int = _f(32, "pairs per optimizer step", min=1)
    steps: int = _f(100, "optimizer steps", min=1)
    warmup_ratio: float = _f(0.1, "share of steps for linear warm-up", min=0.0, max=1.0)
    micro_batch_size: int = _f(8, "at most this many pairs per forward/backward pass", min=1)
    micro_batch_tokens: int = _f(4096, "and at most this many (padded) tokens: bounds the activations", min=1)
    gradient_checkpointing: bool = _f(False, "recompute each layer in backward: less memory, ~1.3x time")
    max_tokens: int = _f(4096, "pairs longer than this (prompt + answer tokens) are left out", min=1)
    seed: int = _f(0, "seeds the order of the pairs and the training")
    lora: bool = _f(False, "train LoRA adapters (peft) and save only them (a few MB, docs/training.md)")
    lora_rank: int = _f(16, "LoRA rank", min=1)
    lora_alpha: int = _f(32, "LoRA alpha", min=1)
    save_every: int = _f(0, "checkpoint every N steps in OUT.resume/, which a rerun resumes from; 0: none",
                         min=0)

    def __post_init__(self) -> None:
        check(self)


def sft(rows: list[dict], out: str | Path, cfg: SFTConfig = SFTConfig(),
        log: Callable[[dict], None] | None = None, provenance: dict | None = None) -> Path:
    """Fine-tune on the answers of `rows`; saves a loadable model folder at `out` (with `cfg.lora`
    an adapter folder), with provenance.json: `cfg`, the rows' hash, the commit, and `provenance`."""
    from gentax.agents.models import load_for_training

    torch.manual_seed(cfg.seed)
    loaded = load_for_training(cfg.model)
    model, tok = loaded.model, loaded.tokenizer
    if cfg.lora:
        model = add_lora(model, cfg.lora_rank, cfg.lora_alpha, cfg.lr)
    render = lambda r: tok.apply_chat_template(chat_messages(r["prompt"]), tokenize=False,  # noqa: E731
                                               add_generation_prompt=True)
    examples = []
    for r in rows:
        prompt_ids = tok(render(r), add_special_tokens=False)["input_ids"]
        answer_ids = tok(r["response"] + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(answer_ids) <= cfg.max_tokens:
            examples.append(Sample(prompt_ids, answer_ids, [], 0.0))
    if not examples:
        raise ValueError("no SFT example fits max_tokens")
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    factor = lr_factor(cfg.steps, max(1, int(cfg.warmup_ratio * cfg.steps)), cosine=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    rng = random.Random(cfg.seed)
    order: list[int] = []
    logged: list[dict] = []
    resume = Path(out).with_name(Path(out).name + ".resume")
    # a checkpoint continues only the SFT that wrote it: same settings (but save_every), same rows
    settings = {k: v for k, v in asdict(cfg).items() if k != "save_every"}
    key = hashlib.sha256(json.dumps([settings, rows_sha256(rows)], sort_keys=True).encode()).hexdigest()
    done = 0
    if cfg.save_every and (saved := list_checkpoints(resume)):
        state = load_checkpoint(saved[-1], model, optimizer, scheduler)
        if state["key"] != key:
            raise ValueError(f"{resume} holds the checkpoint of an SFT with other settings or data; "
                             "delete it to start over")
        done, order, logged = state["step"], state["order"], state["log"]
        version, internal, gauss = state["order_rng"]
        rng.setstate((version, tuple(internal), gauss))
        for row in logged if log else []:  # the caller sees every step's row, as in an uncut run
            log(row)
    amp = torch.autocast(loaded.device, dtype=torch.bfloat16, enabled=loaded.autocast_bf16)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    for step in range(done + 1, cfg.steps + 1):
        t0 = time.perf_counter()
        if len(order) < cfg.batch_size:
            more = list(range(len(examples)))
            rng.shuffle(more)
            order += more
        batch, order = order[: cfg.batch_size], order[cfg.batch_size :]
        n_tokens = sum(len(examples[i].response_ids) for i in batch)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        # loss on the answer tokens only; pairs of similar length share a micro-batch (batching.py)
        for group in micro_batches([examples[i].length for i in batch], cfg.micro_batch_size,
                                   cfg.micro_batch_tokens):
            pairs = collate([examples[batch[j]] for j in group], tok.pad_token_id).to(loaded.device)
            with amp:
                logp, _ = response_logprobs(model, pairs)
            loss = -logp.sum() / n_tokens
            loss.backward()
            total += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        logged.append({"step": step, "loss": total, "lr": scheduler.get_last_lr()[0],
                       "tokens": sum(examples[i].length for i in batch), "seconds": time.perf_counter() - t0})
        if log:
            log(logged[-1])
        if cfg.save_every and step % cfg.save_every == 0 and step < cfg.steps:
            save_checkpoint(resume, step, model, optimizer, scheduler,
                            {"key": key, "order": order, "order_rng": rng.getstate(), "log": logged},
                            trainable_only=cfg.lora, keep_last=1)
    out = Path(out)
    model.eval()
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_disable()
    if cfg.lora:
        save_adapter(model, out, base=cfg.model)
    else:
        model.save_pretrained(out)
        tok.save_pretrained(out)
    write_provenance(out, cfg, rows, {"pairs_within_max_tokens": len(examples), **(provenance or {})})
    shutil.rmtree(resume, ignore_errors=True)
    return out
