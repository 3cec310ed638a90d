"""The study's starting points (the paper's V1 and V2, its section 4.2 and appendix A.5).

A start is the study's model, or an earlier start, optionally after GRPO on one domain (V1:
20 steps on WebShop) or after SFT on a mix of domains (V2: ScienceWorld expert pairs and
ALFWorld / WebShop pairs played by V1, 19:3:1 counted in (state, action) pairs). `make_start`
builds one start's model folder; `collect_model_pairs` records a model's own (prompt, response)
pairs, unfiltered by success, as the SFT data of a source that is a start rather than the expert.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gentax.agents.prompt import PromptConfig
from gentax.config import build
from gentax.files import write_atomic
from gentax.study.config import PAIR_POLICIES, StartSpec, StudyConfig
from gentax.train.config import TrainConfig


def collect_model_pairs(
    model: str, domain: str, episodes: int, out: str | Path, *, split: str = "train", seed: int = 0,
    prompt: PromptConfig = PromptConfig(), max_steps: int | None = None, temperature: float = 1.0,
    max_new_tokens: int | None = None, env_kwargs: dict | None = None,
) -> dict[str, Any]:
    """Play `episodes` episodes of `domain` with the model at `model` (batched) and write every
    step's (prompt, response) pair, whether or not the episode was won (the paper keeps V1's pairs
    unfiltered): `gentax collect --policy model`."""
    from gentax.agents.models import load_model
    from gentax.rollout.generation import make_generator
    from gentax.train.collect import collect

    generator = make_generator("transformers", load_model(model))
    return collect(domain, episodes, out, split=split, seed=seed, prompt=prompt, max_steps=max_steps,
                   env_kwargs=env_kwargs, policy="model", generator=generator, temperature=temperature,
                   max_new_tokens=max_new_tokens)


def base_model(cfg: StudyConfig, start: StartSpec, models: dict[str, str]) -> str:
    """The model a start begins from: the study's, or an earlier start's (its folder)."""
    return cfg.model if start.from_ == "base" else models[start.from_]


def rl_config(cfg: StudyConfig, start: StartSpec, model: str, out: str | Path) -> TrainConfig:
    """The GRPO run that makes an `rl:` start: the study's `train:` block, thinking as the starts
    are evaluated (`eval.think`), then the start's fields."""
    overrides = {k: v for k, v in start.rl.items() if k != "domain"}
    return build(TrainConfig, {**cfg.train, "think": cfg.eval.think, **overrides, "model": model,
                               "domains": {start.rl["domain"]: 1.0}, "seed": cfg.seeds[0], "out": str(out)})


def make_start(cfg: StudyConfig, start: StartSpec, models: dict[str, str], folder: Path,
               log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build one start's model under `folder` (models: the finished earlier starts' folders);
    returns the start cell: its model and how it was made."""
    model = base_model(cfg, start, models)
    if start.kind == "rl":
        return _rl_start(cfg, start, model, folder, log)
    if start.kind == "sft":
        return _sft_start(cfg, start, model, models, folder, log)
    return {"model": model}


def _rl_start(cfg: StudyConfig, start: StartSpec, model: str, folder: Path,
              log: Callable[[str], None]) -> dict:
    from gentax.train.checkpoint import list_checkpoints, load_checkpoint
    from gentax.train.trainer import build_policy, train

    train_cfg = rl_config(cfg, start, model, folder / "train")
    run_dir = train(train_cfg, resume=True, log=lambda r: log(f"  {start.name} step {r['step']}"))
    last = list_checkpoints(run_dir)[-1]
    # the last checkpoint as a plain model folder that every later stage loads by path
    loaded, policy, _, _ = build_policy(replace(train_cfg, kl_coef=0.0))
    load_checkpoint(last, policy)
    if train_cfg.lora:
        policy = policy.merge_and_unload()
    policy.save_pretrained(folder / "model")
    loaded.tokenizer.save_pretrained(folder / "model")
    curve = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {"model": str(folder / "model"), "from": model, "rl": dict(start.rl),
            "curve": [{"step": r["step"], "success": r["success"]} for r in curve
                      if "success" in r and r["step"] > 0]}


def _sft_start(cfg: StudyConfig, start: StartSpec, model: str, models: dict[str, str], folder: Path,
               log: Callable[[str], None]) -> dict:
    from gentax.train.sft import SFTConfig, collect, mix, sft

    spec = start.sft
    # the runs' prompt (train: history), thinking as the starts are evaluated (eval.think)
    prompt = PromptConfig(cfg.train.get("history", 2), cfg.eval.think, cfg.train.get("prompt_style", "paper"))
    files, collected = [], {}
    for i, (domain, weight) in enumerate(spec.mix.items()):
        source, path = spec.sources[domain], folder / "data" / f"{domain}.jsonl"
        seed = cfg.seeds[0] + 100_000 * i  # each domain's instances from its own range of the train split
        common = {"split": "train", "seed": seed, "prompt": prompt,
                  "max_steps": cfg.train.get("max_env_steps", {}).get(domain),
                  "env_kwargs": cfg.env_kwargs(domain)}
        # a domain's pairs, once collected, survive a killed start: its summary is written last
        done = path.with_suffix(".summary.json")
        if done.exists():
            collected[domain] = json.loads(done.read_text())
            log(f"  {start.name}: {domain} pairs already collected ({collected[domain]['pairs']})")
        elif source in PAIR_POLICIES:
            log(f"  {start.name}: collecting {domain} pairs from {source}")
            collected[domain] = collect(domain, spec.episodes, path, policy=source, **common)
        else:
            log(f"  {start.name}: collecting {domain} pairs from {source}'s own play")
            collected[domain] = collect_model_pairs(
                models[source], domain, spec.episodes, path, temperature=cfg.eval.temperature,
                max_new_tokens=cfg.train.get("max_response_tokens", {}).get(domain), **common)
        write_atomic(done, json.dumps(collected[domain]))
        if not collected[domain]["pairs"]:
            raise RuntimeError(f"start {start.name}: no {domain} pairs from {source}")
        files.append((str(path), float(weight)))
    rows = mix(files, seed=cfg.seeds[0])
    counts = {d: sum(r["domain"] == d for r in rows) for d in spec.mix}
    sft_cfg = SFTConfig(model=model, lr=spec.lr, batch_size=spec.batch_size, steps=spec.steps,
                        warmup_ratio=spec.warmup_ratio, seed=cfg.seeds[0],
                        save_every=10)  # a start cut by a session's end resumes its SFT
    losses: list[float] = []

    def progress(row: dict) -> None:  # a start's SFT can take an hour on a CPU: show each step
        losses.append(round(row["loss"], 4))
        log(f"  {start.name}: SFT step {row['step']}/{spec.steps} loss={row['loss']:.3g} "
            f"({row['seconds']:.0f} s)")

    out = sft(rows, folder / "model", sft_cfg, log=progress)
    return {"model": str(out), "from": model, "mix": dict(spec.mix), "sources": dict(spec.sources),
            "pairs": counts, "collected": collected, "sft_loss": losses}


def report_starts(results: dict) -> list | None:
    """The two starts the report's table 6 compares, from a validated results.json: a start
    made by an SFT mix (second) and the first start whose mix differs (first, e.g. V1 and V2);
    None when results.json records no such pair (then there is no table 6)."""
    from gentax.study.aggregate import Start
    from gentax.study.results import ResultsError, check_results

    found = []
    for i, s in enumerate(results.get("starts") or []):
        part = {"name": s.get("name"), "domains": results["domains"], "baseline": s.get("baseline"),
                "runs": s.get("runs")}
        try:
            check_results(part)
        except ResultsError as e:
            raise ResultsError(f"{e} (in starts[{i}])") from None
        found.append(Start(s["name"], part, frozenset(s.get("sft_mix", ()))))
    for second in found:
        first = next((s for s in found if s is not second and s.sft_mix != second.sft_mix), None)
        if second.sft_mix and first:
            return [first, second]
    return None
