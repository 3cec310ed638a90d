"""SFT throughput: `gentax.train.sft.sft` against TRL's `SFTTrainer`, side by side, in tokens/s.

Both sides train the default model (SmolLM2-135M-Instruct, the embedded weights that
`load_model("default")` uses) from the same weights, on the same (prompt, answer) pairs, with
the same dtype (bf16 autocast where the CPU has native bf16, else float32, as gentax's
`dtype: auto`), batch size, peak lr, AdamW (each side's default build of it: TRL's fused kernel,
gentax's foreach one), lr schedule (linear warm-up, cosine; HF's warm-up starts at lr 0 where
gentax's starts at lr / warm-up steps, so the losses after step 1 differ a little), gradient
clipping at 1.0, loss on the answer tokens only, and no gradient checkpointing (gentax's
default; TRL's default is on, which recomputes each layer in backward).

Data: `gentax collect sokoban --policy reasoned` pairs (chat-rendered prompts of 937-1,627
tokens, answers of ~57 tokens with `<think>`), or `--data FILE` from any `gentax collect`.
Each pair is tokenized once, as gentax's SFT does (the chat-rendered prompt, then the answer +
EOS), and TRL is given those very token ids as a pre-tokenized prompt-completion dataset
(`input_ids` + `completion_mask`, `completion_only_loss=True`), so both sides see identical
tokens; tokenizing is outside the timed steps on both sides.

One step is an optimizer step over `--batch` pairs in one forward/backward (gentax:
`micro_batch_size` = batch and a token budget that holds the whole batch; TRL:
`per_device_train_batch_size` = batch, no accumulation):
  (a) gentax: `sft(...)`'s own loop, timed by the `seconds` it logs per step (batch choice,
      collate, forward, backward, clip, AdamW, scheduler);
  (b) TRL: its collator on the same pairs, `trainer.training_step` (forward with TRL's fused
      LM head, loss, backward), `clip_grad_norm_`, the optimizer and scheduler steps: the body
      of `Trainer`'s training loop.
The two alternate (gentax step k, then TRL step k, run from gentax's per-step log callback);
the first `--warmup` steps of each are not timed. Step 1 runs both sides on identical weights
and pairs, so their losses must agree: that is checked, and so is that every step trains the
same tokens on both sides. Trained tokens/s = the batch's prompt + answer tokens (no padding)
/ the step's seconds.

Measured on this 2-core CPU (flags avx avx2, no avx512_bf16 or amx: float32 on both sides),
torch 2.13.0, TRL 1.16.0, transformers 5.24.0, a machine shared with other jobs (load average
5.5-11 during the runs, so each step's wall time swings with them; the ratio is what to read),
first-step losses agreeing in every run (e.g. 2.584368 / 2.584385):
  `python bench/sft_vs_trl.py --steps 3` (batch 1, 1 warm-up + 3 timed steps each, 1,048-1,684
  tokens a step), twice:
    load 7.7 -> 5.5: gentax 11.4 trained tokens/s, TRL 10.3: 1.11x (steps 1.19x, 1.12x, 1.03x);
      by the process's CPU time 27.3 vs 25.8 tokens per CPU second: 1.06x; peak RSS 9.0 GB
    load 10.7 -> 8.5: gentax 8.4 tokens/s, TRL 7.3: 1.15x (steps 1.33x, 1.01x, 1.06x)
  `python bench/sft_vs_trl.py --batch 2 --steps 1` (2,622 tokens in the one timed step, load
  8.4 -> 9.0): gentax 18.3 tokens/s, TRL 12.3: 1.49x. A `--batch 2 --steps 3` run was killed by
  the kernel's OOM killer (both models and their AdamW states live in one process: 13.5 GB
  resident at batch 2, on a 23 GB machine that other jobs were filling).
Under that load a step took 2-4 minutes a side (a 1 + 3-step run: 26 minutes). A step costs
~60 CPU seconds a side, about 30 s of an idle 2-core machine, where a default run (1 + 2 steps)
would take ~4 minutes (estimated from the CPU time, not measured). Why gentax is faster:
docs/training.md, "Throughput against TRL".

Run: `python bench/sft_vs_trl.py [--batch 1 --warmup 1 --steps 2 --data FILE --out result.json]`
(needs `pip install trl`, the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
import warnings
from pathlib import Path

import torch

from gentax.train.provenance import machine


def load_average() -> float:
    return os.getloadavg()[0]


def pairs(data: str | None, n: int, seed: int) -> list[dict]:
    """`n` (prompt, response) rows: from `data`, or from freshly collected Sokoban episodes."""
    if data is None:
        from gentax.train.collect import collect

        data = str(Path(tempfile.mkdtemp(prefix="sft-vs-trl-")) / "sokoban.jsonl")
        collect("sokoban", episodes=max(20, n), out=data, policy="reasoned")
    rows = [json.loads(line) for line in Path(data).read_text().splitlines() if line.strip()]
    if len(rows) < n:
        raise SystemExit(f"{data}: {len(rows)} pairs, the bench needs {n} (batch x (warmup + steps))")
    return random.Random(seed).sample(rows, n)


def tokenize(rows: list[dict], tok) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, answer ids) of each row, exactly as `gentax.train.sft.sft` builds them."""
    from gentax.agents.prompt import chat_messages

    out = []
    for r in rows:
        text = tok.apply_chat_template(chat_messages(r["prompt"]), tokenize=False, add_generation_prompt=True)
        prompt_ids = tok(text, add_special_tokens=False)["input_ids"]
        answer_ids = tok(r["response"] + (tok.eos_token or ""), add_special_tokens=False)["input_ids"]
        out.append((prompt_ids, answer_ids))
    return out


def build_trl_trainer(model_dir: str, tok, encoded: list[tuple[list[int], list[int]]],
                      args: argparse.Namespace, cfg, bf16: bool):
    from datasets import Dataset
    from trl import SFTConfig as TRLConfig
    from trl import SFTTrainer

    dataset = Dataset.from_dict({"input_ids": [p + a for p, a in encoded],
                                 "completion_mask": [[0] * len(p) + [1] * len(a) for p, a in encoded]})
    config = TRLConfig(
        output_dir=tempfile.mkdtemp(prefix="trl-sft-bench-"), report_to="none", save_strategy="no",
        per_device_train_batch_size=args.batch, gradient_accumulation_steps=1,
        learning_rate=cfg.lr, lr_scheduler_type="cosine",
        warmup_steps=max(1, int(cfg.warmup_ratio * cfg.steps)),
        weight_decay=0.0, max_grad_norm=1.0, max_length=cfg.max_tokens, completion_only_loss=True,
        gradient_checkpointing=False, bf16=bf16, seed=cfg.seed, use_cpu=not torch.cuda.is_available(),
        model_init_kwargs={"dtype": torch.float32},
    )
    trainer = SFTTrainer(model=model_dir, args=config, train_dataset=dataset, processing_class=tok)
    trainer.create_optimizer_and_scheduler(num_training_steps=cfg.steps)
    trainer.current_gradient_accumulation_steps = 1  # set by `Trainer.train`'s loop, which is not run here
    trainer.model.train()
    return trainer, trainer.train_dataset  # prepared: `labels` are -100 on the prompt


def trl_step(trainer, dataset, indices: list[int]) -> tuple[float, int, int]:
    """One optimizer step on `indices`: (loss, prompt + answer tokens, answer tokens)."""
    batch = trainer.data_collator([dataset[i] for i in indices])
    answer_tokens = int((batch["labels"][:, 1:] != -100).sum())
    tokens = int(batch["attention_mask"].sum())
    loss = trainer.training_step(trainer.model, batch, num_items_in_batch=answer_tokens)
    trainer.accelerator.clip_grad_norm_(trainer.model.parameters(), trainer.args.max_grad_norm)
    trainer.optimizer.step()
    trainer.lr_scheduler.step()
    trainer.model.zero_grad(set_to_none=True)
    return float(loss), tokens, answer_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=1, help="pairs per optimizer step")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per side")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per side")
    parser.add_argument("--data", help="a `gentax collect` JSONL (default: Sokoban pairs of the reasoned "
                                       "policy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON result here")
    args = parser.parse_args()
    if min(args.batch, args.warmup, args.steps) < 1:
        parser.error("--batch, --warmup and --steps must be >= 1")
    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()

    from gentax.agents.models import cpu_has_bf16, default_weights_dir, load_tokenizer
    from gentax.train.sft import SFTConfig, sft

    total_steps = args.warmup + args.steps
    load_before = load_average()
    tok = load_tokenizer("default")
    rows = pairs(args.data, args.batch * total_steps, args.seed)
    encoded = tokenize(rows, tok)
    longest = max(len(p) + len(a) for p, a in encoded)
    cfg = SFTConfig(model="default", batch_size=args.batch, steps=total_steps, micro_batch_size=args.batch,
                    micro_batch_tokens=args.batch * longest, max_tokens=max(4096, longest), seed=args.seed)
    # gentax's `dtype: auto`: bf16 autocast only where the hardware has bf16 (`load_for_training`)
    bf16 = torch.cuda.is_available() or cpu_has_bf16()
    trainer, dataset = build_trl_trainer(str(default_weights_dir()), tok, encoded, args, cfg, bf16)
    # sft() visits the pairs in this order (one seeded shuffle; every pair fits max_tokens)
    order = list(range(len(encoded)))
    random.Random(cfg.seed).shuffle(order)

    print(f"model: SmolLM2-135M-Instruct (default); {len(encoded)} pairs, batch {args.batch}, prompt "
          f"{min(len(p) for p, _ in encoded)}-{max(len(p) for p, _ in encoded)} + answer "
          f"{min(len(a) for _, a in encoded)}-{max(len(a) for _, a in encoded)} tokens; "
          f"{'bf16 autocast' if bf16 else 'float32'}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {load_before:.2f}", flush=True)
    # per step: wall seconds, CPU seconds of this process (all threads), tokens, answer tokens, loss
    record: dict[str, list[tuple[float, float, int, int, float]]] = {"gentax": [], "trl": []}
    cpu_mark = [0.0]  # process CPU time when the last TRL step ended

    def after_gentax_step(entry: dict) -> None:
        step = entry["step"]
        gentax_cpu = time.process_time() - cpu_mark[0]
        indices = order[(step - 1) * args.batch : step * args.batch]
        answer = sum(len(encoded[i][1]) for i in indices)
        record["gentax"].append((entry["seconds"], gentax_cpu, entry["tokens"], answer, entry["loss"]))
        t0, c0 = time.perf_counter(), time.process_time()
        loss, tokens, trl_answer = trl_step(trainer, dataset, indices)
        cpu_mark[0] = time.process_time()
        record["trl"].append((time.perf_counter() - t0, cpu_mark[0] - c0, tokens, trl_answer, loss))
        if (tokens, trl_answer) != (entry["tokens"], answer):
            raise SystemExit(f"step {step}: TRL trained {tokens} tokens ({trl_answer} answer), gentax "
                             f"{entry['tokens']} ({answer}): the two sides did not get the same pairs")
        phase = "warm-up" if step <= args.warmup else "timed"
        trl_wall, trl_cpu = record["trl"][-1][:2]
        print(f"  step {step} ({phase}, {tokens} tokens): gentax {entry['seconds']:6.1f} s "
              f"({gentax_cpu:.0f} CPU s)  TRL {trl_wall:6.1f} s ({trl_cpu:.0f} CPU s)  "
              f"(loss {entry['loss']:.4f} / {loss:.4f}; load {load_average():.2f})", flush=True)

    with tempfile.TemporaryDirectory() as out:
        cpu_mark[0] = time.process_time()
        sft(rows, out, cfg, log=after_gentax_step)

    result: dict = {"setting": {"model": "SmolLM2-135M-Instruct", "pairs": len(encoded), "batch": args.batch,
                                "warmup": args.warmup, "steps": args.steps,
                                "data": args.data or "sokoban reasoned",
                                "dtype": "bf16-autocast" if bf16 else "float32",
                                "threads": torch.get_num_threads(), "cpu_flags": machine()["cpu_flags"],
                                "load_average": [round(load_before, 2), round(load_average(), 2)]},
              # both models with their AdamW states live in this one process
              "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    for name, steps in record.items():
        timed = steps[args.warmup :]
        wall, cpu = sum(w for w, *_ in timed), sum(c for _, c, *_ in timed)
        tokens, answer = sum(t for *_, t, _, _ in timed), sum(a for *_, a, _ in timed)
        result[name] = {"s_per_step": [round(w, 2) for w, *_ in timed],
                        "cpu_s_per_step": [round(c, 2) for _, c, *_ in timed],
                        "tokens_per_s": round(tokens / wall, 1),
                        "answer_tokens_per_s": round(answer / wall, 2),
                        "tokens_per_cpu_s": round(tokens / cpu, 1)}
    result["trl"]["version"] = __import__("trl").__version__
    result["ratio_gentax_over_trl"] = round(result["gentax"]["tokens_per_s"]
                                            / result["trl"]["tokens_per_s"], 3)
    # on a loaded machine wall time swings with the other jobs; CPU time much less
    result["cpu_time_ratio_gentax_over_trl"] = round(result["gentax"]["tokens_per_cpu_s"]
                                                     / result["trl"]["tokens_per_cpu_s"], 3)
    first = record["gentax"][0][-1], record["trl"][0][-1]
    tolerance = 2e-2 if bf16 else 1e-4
    result["loss_check"] = {"gentax": round(first[0], 6), "trl": round(first[1], 6),
                            "abs_diff": abs(first[0] - first[1]), "tolerance": tolerance,
                            "agree": abs(first[0] - first[1]) <= tolerance}
    for name in ("gentax", "trl"):
        r = result[name]
        print(f"{name:6s}: {r['tokens_per_s']:.1f} trained tokens/s ({r['answer_tokens_per_s']:.2f} answer "
              f"tokens/s; {r['tokens_per_cpu_s']:.1f} per CPU second), s/step {r['s_per_step']}")
    print(f"gentax / TRL throughput: {result['ratio_gentax_over_trl']:.2f}x (by CPU time "
          f"{result['cpu_time_ratio_gentax_over_trl']:.2f}x); cpu flags "
          f"{' '.join(result['setting']['cpu_flags'])}; load average {load_before:.2f} -> "
          f"{load_average():.2f}; peak RSS "
          f"{result['peak_rss_gb']} GB")
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    if not result["loss_check"]["agree"]:
        raise SystemExit(f"first-step loss mismatch: gentax {first[0]} vs TRL {first[1]}")


if __name__ == "__main__":
    main()
