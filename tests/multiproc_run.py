"""Run by tests/test_multiproc.py in every process of `accelerate launch --multi_gpu
--num_processes 2` (two CPU processes, gloo): `python multiproc_run.py TINY_MODEL OUT`.

1. update: one GRPO update of a fixed batch (`update_case`, which the test also runs in one
   process); rank 0 saves the weights and statistics to OUT/update.pt.
2. train: a tiny GRPO run with the scripted policy of tests/scripted.py, whole; then the same
   run killed after step 1 and resumed (run folders OUT/whole and OUT/killed).
Every rank writes OUT/rank-N.json: the number of processes, the prompts it answered, and a
digest of its weights after each part, so the test can check that the replicas stayed equal."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))  # scripted.py

from scripted import ScriptedGenerator  # noqa: E402

import gentax.train.trainer as trainer  # noqa: E402
from gentax.train.batching import Sample  # noqa: E402
from gentax.train.config import TrainConfig  # noqa: E402
from gentax.train.update import UpdateStats, policy_update  # noqa: E402


def digest(weights: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode())
        h.update(weights[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def update_case() -> tuple[torch.nn.Module, dict[str, torch.Tensor], UpdateStats]:
    """A fixed batch of 24 samples whose response lengths (1-20 tokens) differ a lot, so the
    ranks' token counts differ; plain SGD without clipping, so the step is proportional to the
    gradient (AdamW and clipping would hide a wrong scale); 3 mini-batches x 2 epochs, so the
    later ones clip. Returns (model after the update, its weights before, the statistics)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=128))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ref = copy.deepcopy(model).eval().requires_grad_(False)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05 * torch.randn_like(p))  # a reference apart from the policy: the KL term pulls
    rng = random.Random(7)
    samples = []
    for _ in range(24):
        prompt = [rng.randrange(1, 64) for _ in range(rng.randint(2, 40))]
        response = [rng.randrange(1, 64) for _ in range(rng.randint(1, 20))]
        samples.append(Sample(prompt, response, [], rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])))
    optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
    stats = policy_update(model, ref, optimizer, samples, pad_id=0, mini_batch_size=8, micro_batch_size=2,
                          clip_eps=0.2, kl_coef=0.5, max_grad_norm=0.0, ppo_epochs=2, seed=11)
    return model, before, stats


def tiny_run(model: str, out: Path) -> TrainConfig:
    """test_train.py's tiny run, with several mini-batches per step and validation."""
    return TrainConfig(
        model=model, domains={"sokoban": 1.0}, steps=2, instances_per_step=2, group_size=4,
        lr=1e-3, lr_schedule="cosine", max_response_tokens={"sokoban": 8}, max_env_steps={"sokoban": 2},
        env_kwargs={"sokoban": {"max_solution_steps": 1}}, think=False, history=0,
        mini_batch_size=6, micro_batch_size=2, val_every=2, val_episodes=3, save_every=1, seed=3,
        out=str(out))


def main(model: str, out: Path) -> None:
    from accelerate import PartialState

    state = PartialState(cpu=True)
    made: list[ScriptedGenerator] = []

    def make_generator(backend, loaded, **kwargs):
        made.append(ScriptedGenerator(loaded, p_expert=0.5, seed=0))
        return made[-1]

    trainer.make_generator = make_generator
    record: dict = {"rank": state.process_index, "size": state.num_processes}

    updated, _, stats = update_case()
    record["update"] = digest(updated.state_dict())
    if state.is_main_process:
        torch.save({"weights": updated.state_dict(), "stats": dataclasses.asdict(stats)}, out / "update.pt")

    for name, kwargs in (("whole", {}), ("killed", {"stop_after": 1}), ("resumed", {"resume": True})):
        trainer.train(tiny_run(model, out / ("whole" if name == "whole" else "killed")), **kwargs)
        policy = made[-1].loaded.model  # the model this rank trained
        record[name] = {"prompts": len(made[-1].prompts), "weights": digest(policy.state_dict())}
    (out / f"rank-{state.process_index}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
