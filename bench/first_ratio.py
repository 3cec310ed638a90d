"""The PPO ratio at the first update of an RL step: the sampler's log-probs as the old policy
against the trainer's own forward (the default), on the same real rollouts.

The default model plays `--instances` x `--group` one-push Sokoban episodes at temperature 1
(the CPU learning run's setting: 5x5 rooms, thinking on, `--tokens` answer tokens); the steps
become samples as in `gentax train`; then one update (two mini-batches) runs twice from the same
weights, once per `old_logprobs` source. Printed per source: the first mini-batch's largest
|ratio - 1|, the update's ratio mean / max, clip fraction and KL, and the sampler-vs-trainer
log-prob gap.

Run: `python bench/first_ratio.py [--instances 4 --group 2 --tokens 32]`
"""

from __future__ import annotations

import argparse
import copy
import json

import torch

from gentax.agents.models import load_for_training
from gentax.agents.prompt import PromptConfig
from gentax.rollout.batched import run_batched
from gentax.rollout.generation import Sampling, make_generator
from gentax.train.config import TrainConfig
from gentax.train.trainer import episodes_to_samples, step_advantages
from gentax.train.update import policy_update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--group", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    args = parser.parse_args()
    torch.manual_seed(0)
    loaded = load_for_training("default")
    model = loaded.model.eval()
    episodes = run_batched("sokoban", list(range(args.instances)), make_generator("transformers", loaded),
                           group_size=args.group, max_steps=1, prompt=PromptConfig(history=0, think=True),
                           sampling=Sampling(max_new_tokens=args.tokens, temperature=1.0, seed=0),
                           env_kwargs={"rows": 5, "cols": 5, "max_solution_steps": 1})
    advantages, _ = step_advantages(TrainConfig(), episodes)  # GRPO: each trajectory's, on its steps
    samples, _ = episodes_to_samples(episodes, advantages, loaded.tokenizer, 4096, skip_zero=False)
    start = copy.deepcopy(model.state_dict())
    ref = copy.deepcopy(model).eval().requires_grad_(False)
    for source in ("sampler", "trainer"):
        model.load_state_dict(start)
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
        stats = policy_update(model, ref, optimizer, samples, pad_id=loaded.tokenizer.pad_token_id,
                              mini_batch_size=max(1, len(samples) // 2), micro_batch_size=8, seed=0,
                              old_logprobs=source)
        print(json.dumps({"old_logprobs": source, "samples": len(samples),
                          "first_ratio_max_deviation": round(stats.first_ratio_max_deviation, 4),
                          "ratio_mean": round(stats.ratio_mean, 4), "ratio_max": round(stats.ratio_max, 4),
                          "clip_fraction": round(stats.clip_fraction, 4), "kl": round(stats.kl, 5),
                          "sampler_gap": round(stats.sampler_gap, 5),
                          "sampler_gap_max": round(stats.sampler_gap_max, 4)}), flush=True)


if __name__ == "__main__":
    main()
