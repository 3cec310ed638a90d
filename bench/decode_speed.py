"""Decoding speed: gentax's `TransformersGenerator` against `model.generate`, side by side.

Both sides get the same B prompts: gentax's own first-step prompts of B eval episodes of a domain
(paper style, chat-rendered; Sokoban about 1,000 tokens, WebShop about 300), left-padded, and
decode greedily exactly N new tokens (EOS and stop strings cannot end a row early: gentax's EOS
list is emptied and its stop string never occurs, HF gets min_new_tokens=N), so both run the
same N forwards. Runs alternate (gentax, HF, HF, gentax, ...) after a one-prompt warm-up each.
Figures per side, medians over the runs, and their ratio gentax / HF:
- `tokens_per_s`: B x N new tokens / wall time of the call (prefill included);
- `decode_tokens_per_s`: B x (N - 1) / time from the end of the prefill forward to the end of
  the last forward (a forward hook on the model stamps every forward, on both sides alike);
- the same two per CPU second of this process (`..._per_cpu_s`): on a shared machine, where
  other jobs take the cores (or pause this process) for a while, the work done per CPU second
  moves much less than the wall-clock rate.
Only ratios are comparable across machines, and on a shared machine across times: each line
carries the load average, the thread count and OpenMP's wait policy.

Figures from the 2-core AVX2 machine (no avx512_bf16, fp32, 2 threads), alone and with two
copies at once under either OpenMP wait policy: docs/training.md, "Decoding speed".

Run: `python bench/decode_speed.py --domain sokoban --batch 4 --new-tokens 64 --repeats 2`
     `python bench/decode_speed.py --domain webshop --batch 64 --new-tokens 16 --repeats 1`
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import gentax.rollout.generation as generation
from gentax.agents.models import load_model
from gentax.agents.prompt import PromptConfig, build_prompt, chat_messages
from gentax.envs import make_env
from gentax.rollout.generation import Sampling, TransformersGenerator

generation._eos_ids = lambda tokenizer, model: []  # N tokens on gentax's side, as min_new_tokens on HF's
NEVER = "\x00never\x00"


def episode_prompts(generator: TransformersGenerator, domain: str, batch: int) -> list[str]:
    """The first prompt of eval episodes 0..batch-1, as gentax's rollouts render it."""
    env = make_env(domain, split="eval")
    prompts = []
    for seed in range(batch):
        obs, info = env.reset(seed=seed)
        text = build_prompt(domain, info, obs, [], PromptConfig()).text
        prompts.append(generator.render(chat_messages(text)))
    env.close()
    return prompts


class ForwardClock:
    """Stamps the end of every forward of the model, in wall time and in this process's CPU time."""

    def __init__(self, model):
        self.stamps: list[tuple[float, float]] = []
        model.register_forward_hook(lambda *_: self.stamps.append((time.perf_counter(), time.process_time())))

    def run(self, fn, batch: int, new_tokens: int) -> list[float]:
        """Tokens per second of the call and of its decoding steps, per wall second and per CPU second."""
        self.stamps.clear()
        start = (time.perf_counter(), time.process_time())
        fn()
        end = (time.perf_counter(), time.process_time())
        assert len(self.stamps) == new_tokens and new_tokens > 1, (len(self.stamps), new_tokens)
        first, last = self.stamps[0], self.stamps[-1]
        call, decode = batch * new_tokens, batch * (new_tokens - 1)
        return [call / (end[0] - start[0]), decode / (last[0] - first[0]),
                call / (end[1] - start[1]), decode / (last[1] - first[1])]


def compare(loaded, domain: str, batch: int, new_tokens: int, repeats: int) -> dict:
    import torch

    model, tok = loaded.model, loaded.tokenizer
    generator = TransformersGenerator(loaded, batch_size=batch)
    texts = episode_prompts(generator, domain, batch)
    enc = tok(texts, add_special_tokens=False, return_tensors="pt", padding=True)  # left padding
    clock = ForwardClock(model)

    def ours(n: int = new_tokens, prompts: list[str] = texts) -> None:
        answers = generator.generate(prompts, Sampling(max_new_tokens=n, temperature=0.0, stop=(NEVER,)))
        assert all(len(a.token_ids) == n for a in answers)

    def theirs(n: int = new_tokens, inputs=enc) -> None:
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           pad_token_id=tok.pad_token_id)

    ours(2, texts[:1]), theirs(2, {k: v[:1] for k, v in enc.items()})  # warm-up (and the stop table)
    runs: dict[str, list[list[float]]] = {"gentax": [], "hf_generate": []}
    order = ["gentax", "hf_generate"]
    for r in range(repeats):
        for side in order if r % 2 == 0 else order[::-1]:
            runs[side].append(clock.run(ours if side == "gentax" else theirs, batch, new_tokens))
    lengths = enc["attention_mask"].sum(1)
    result = {"domain": domain, "batch": batch, "new_tokens": new_tokens,
              "prompt_tokens": [int(lengths.min()), int(lengths.max())], "runs_per_side": repeats}
    figures = ["tokens_per_s", "decode_tokens_per_s", "tokens_per_cpu_s", "decode_tokens_per_cpu_s"]
    for i, figure in enumerate(figures):
        med = {side: statistics.median(x[i] for x in runs[side]) for side in runs}
        result[figure] = {"gentax": round(med["gentax"], 1), "hf_generate": round(med["hf_generate"], 1),
                          "ratio": round(med["gentax"] / med["hf_generate"], 2)}
    return {**result, "threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
            "load_average_1min": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="sokoban")
    parser.add_argument("--batch", type=int, action="append", help="repeatable (default: 4)")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="runs per side, alternating")
    args = parser.parse_args()
    loaded = load_model("default", dtype="float32")
    for batch in args.batch or [4]:
        print(json.dumps(compare(loaded, args.domain, batch, args.new_tokens, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
