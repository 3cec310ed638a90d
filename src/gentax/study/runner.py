"""`gentax study`: the cross-domain study as cells, each finished once and written atomically.

Cells (DIR/cells/<name>.json; a cell whose file exists is never recomputed):
  start-<S>                         start S's model made (RL on one domain or an SFT mix; `starts:`)
  profile[-<S>]-<domain>            the domain's richness and planning complexity (profile.policy)
  baseline[-<S>]-<domain>           the start's model evaluated on the domain
  sft-<run>                         SFT warm-up on the training domain's expert (sft variants)
  train-<run>                       GRPO training, resumed from its last checkpoint if it was cut
  eval-<run>-step<N>-<domain>       checkpoint N of the run evaluated on the domain
A run is (start, training domain, variant, seed), named [<S>-]<domain>-<variant>-seed<N>; its
folders live in DIR/runs/<run>/, a start's in DIR/starts/<S>/. Names carry the start only when
the config lists `starts:` (a study without it keeps its old names). Then DIR/results.json
(docs/report.md's schema) is written atomically and the report is built.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gentax.files import write_atomic
from gentax.memory import release_freed_memory
from gentax.study.config import PAIR_POLICIES, StartSpec, StudyConfig, Variant

Log = Callable[[str], None]


@dataclass(frozen=True)
class Run:
    train_domain: str
    variant: Variant
    seed: int
    start: str = ""  # the start's name in names ("" for a study without `starts:`)

    @property
    def id(self) -> str:
        return _named(self.start, f"{self.train_domain}-{self.variant.name}-seed{self.seed}")


def _named(start: str, rest: str) -> str:
    return f"{start}-{rest}" if start else rest


def start_label(cfg: StudyConfig, start: StartSpec) -> str:
    return start.name if cfg.named_starts else ""


def plan_runs(cfg: StudyConfig, start: StartSpec | None = None) -> list[Run]:
    """Every run of the study (or of one start), start by start."""
    return [Run(d, v, s, start_label(cfg, st)) for st in ([start] if start else cfg.starts)
            for d in st.train_domains for v in cfg.variants for s in cfg.seeds]


@dataclass
class PlannedCell:
    name: str
    kind: str  # start, profile, baseline, sft, train, eval
    depends: list[str]  # cells that must be finished first
    what: str  # in words


def expected_checkpoints(steps: int, save_every: int) -> list[int]:
    """The steps the trainer checkpoints: every `save_every`, and the last step."""
    return sorted({*range(save_every, steps + 1, save_every), steps})


def plan_cells(cfg: StudyConfig) -> list[PlannedCell]:
    """Every cell the config implies, in the order run_study computes them; loads no model."""
    from gentax.study.starts import rl_config

    cells: list[PlannedCell] = []
    for start in cfg.starts:
        label = start_label(cfg, start)
        made: list[str] = []
        if start.kind != "model":
            depends = [f"start-{start.from_}"] if start.from_ != "base" else []
            depends += [f"start-{s}" for s in start.sft.sources.values() if s not in PAIR_POLICIES]
            if start.kind == "rl":
                rl = rl_config(cfg, start, "unused", "unused")
                what = f"{rl.steps} GRPO steps on {start.rl['domain']} from {start.from_}"
            else:
                ratio = ":".join(f"{w:g}" for w in start.sft.mix.values())
                sources = ", ".join(f"{d} from {s}" for d, s in start.sft.sources.items())
                what = (f"SFT {start.sft.steps} steps on {'/'.join(start.sft.mix)} {ratio} ({sources}) "
                        f"from {start.from_}")
            cells.append(PlannedCell(f"start-{start.name}", "start", list(dict.fromkeys(depends)), what))
            made = [f"start-{start.name}"]
        played = made if cfg.profile.policy == "start" else []  # the `start` policy plays its model
        for d in cfg.eval_domains:
            cells.append(PlannedCell(_profile_name(label, d), "profile", played,
                                     f"{d} profiled ({cfg.profile.policy} play)"))
        for d in cfg.eval_domains:
            cells.append(PlannedCell(_baseline_name(label, d), "baseline", made,
                                     f"{start.name} evaluated on {d}"))
        for run in plan_runs(cfg, start):
            train_depends = list(made)
            if run.variant.sft:
                cells.append(PlannedCell(f"sft-{run.id}", "sft", list(made),
                                         f"SFT on {run.train_domain}'s expert pairs"))
                train_depends = [f"sft-{run.id}"]
            train_cfg = cfg.run_config(run.train_domain, run.variant, run.seed, "unused", "unused",
                                       start.augment)
            cells.append(PlannedCell(f"train-{run.id}", "train", train_depends,
                                     f"{train_cfg.steps} GRPO steps on {run.train_domain} from {start.name}"))
            for step in expected_checkpoints(train_cfg.steps, train_cfg.save_every)[-cfg.last_k:]:
                for d in cfg.eval_domains:
                    cells.append(PlannedCell(f"eval-{run.id}-step{step}-{d}", "eval", [f"train-{run.id}"],
                                             f"step {step} evaluated on {d}"))
    return cells


def _profile_name(label: str, d: str) -> str:
    return f"profile-{label}-{d}" if label else f"profile-{d}"


def _baseline_name(label: str, d: str) -> str:
    return f"baseline-{label}-{d}" if label else f"baseline-{d}"


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2).encode())


# what a cell cost, where (a training cell: also the step it resumed from in this sitting)
COST_KEYS = ("seconds", "cpu_seconds", "machine", "git_commit", "git_dirty", "resumed_from_step")


class Cells:
    """The study folder's finished cells: read one if it exists, else compute and save it."""

    def __init__(self, root: Path, log: Log):
        self.dir = root / "cells"
        self.log = log
        self.computed: list[str] = []  # names computed by this process, in order
        self.used: dict[str, dict] = {}  # every cell this study read or computed: its cost and source
        self.where: dict | None = None  # this process's machine and gentax commit (once)

    def get(self, name: str, compute: Callable[[], dict]) -> dict:
        path = self.dir / f"{name}.json"
        if path.exists():
            value = json.loads(path.read_text())
        else:
            self.log(f"cell {name} ...")
            if self.where is None:
                from gentax.train.provenance import machine, source_commit
                self.where = {"machine": machine(), **source_commit()}
            t0, cpu0 = time.perf_counter(), time.process_time()
            # wall seconds, and CPU seconds of this process (all its threads): the second does not
            # depend on what else the machine runs
            value = {**compute(), "seconds": round(time.perf_counter() - t0, 2),
                     "cpu_seconds": round(time.process_time() - cpu0, 2), **self.where}
            release_freed_memory()  # what the cell freed (a trained model: ~10 GB) is not kept
            write_json_atomic(path, value)
            self.computed.append(name)
            self.log(f"cell {name} done in {value['seconds']:.1f}s ({value['cpu_seconds']:.1f} CPU s)")
        self.used[name] = {k: value.get(k) for k in COST_KEYS}
        return value

    def costs(self) -> tuple[list[dict], list[dict]]:
        """results.json's `cells` (name, wall and CPU seconds, machine index, commit) and `machines`;
        a cell computed before gentax recorded them has None."""
        machines: list[dict] = []
        cells = []
        for name, used in self.used.items():
            m = used["machine"]
            if m is not None and m not in machines:
                machines.append(m)
            cells.append({"name": name, **used, "machine": None if m is None else machines.index(m)})
        return cells, machines


# --- evaluation --------------------------------------------------------------------------------

def eval_summary(metrics: dict) -> dict:
    """episode_metrics -> the per-domain summary of results.json."""
    return {"success": metrics["success"], "mean_return": metrics["mean_return"],
            "mean_length": metrics["mean_length"], "invalid_action_rate": metrics["invalid_action_rate"],
            "format_error_rate": metrics["format_error_rate"], "episodes": metrics["episodes"]}


def mean_summary(summaries: list[dict]) -> dict:
    """Mean over checkpoints of each number; `episodes` is the total played."""
    out = {k: sum(s[k] for s in summaries) / len(summaries) for k in summaries[0] if k != "episodes"}
    out["episodes"] = sum(s["episodes"] for s in summaries)
    return out


def example(episode, model: str, max_steps: int = 8) -> dict:
    return {"model": model, "task": episode.task, "won": episode.won, "seed": episode.seed,
            "steps": [{"observation": s.observation, "response": s.response or "", "action": s.action,
                       "reward": s.reward} for s in episode.steps[:max_steps]]}


class Models:
    """One generator at a time, reused by consecutive cells of the same model or checkpoint."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.generator = None

    def get(self, key: tuple, load: Callable[[], Any]):
        if key != self.key:
            self.generator = None  # free the previous model first
            release_freed_memory()
            self.generator, self.key = load(), key
        return self.generator


def _load_base(model: str):
    from gentax.agents.models import load_model
    from gentax.rollout.generation import make_generator

    return make_generator("transformers", load_model(model))


def _load_checkpoint(train_cfg, checkpoint: Path):
    """The run's policy (full or LoRA) with the checkpoint's weights, on the transformers backend."""
    from gentax.train.checkpoint import load_checkpoint
    from gentax.train.trainer import build_policy

    loaded, model, _, generator = build_policy(replace(train_cfg, kl_coef=0.0, backend="transformers"))
    load_checkpoint(checkpoint, model)
    model.eval()
    return generator


def _pool(cfg: StudyConfig):
    """Evaluations use the env pool the `train:` block names (one field switches both)."""
    from gentax.rollout.pool import make_pool

    return make_pool(cfg.train.get("env_pool", "inprocess"), cfg.train.get("env_workers", 2),
                     cfg.train.get("ray_address") or None)


PROGRESS_EVERY_S = 60.0  # an evaluation cell can take many minutes on a CPU: a line this often


def _evaluate_cell(cfg: StudyConfig, generator, domain: str, think: bool, history: int, prompt_style: str,
                   model_name: str, trajectories: Path, log: Log = print) -> dict:
    from gentax.rollout.episodes import write_jsonl
    from gentax.rollout.evaluate import evaluate
    from gentax.rollout.sampling import Throughput

    ev = cfg.eval
    played = []
    throughput = Throughput(generator)
    last_line = [0.0]

    def episode_end(episode) -> None:
        played.append(episode)
        seconds = throughput.seconds()
        if seconds - last_line[0] >= PROGRESS_EVERY_S or len(played) == ev.episodes:
            last_line[0] = seconds
            log(f"  {domain}: {len(played)}/{ev.episodes} episodes, {seconds:.0f} s, {throughput.text()}")

    with _pool(cfg) as pool:
        metrics = evaluate(generator, [domain], ev.episodes, temperature=ev.temperature, think=think,
                           history=history, prompt_style=prompt_style, seed=ev.seed,
                           max_steps=cfg.eval_steps(domain), max_new_tokens=cfg.eval_tokens(domain),
                           env_kwargs=cfg.env_kwargs(domain), on_episode_end=episode_end,
                           pool=pool)[domain]
    if "skipped" in metrics:
        raise RuntimeError(f"{domain} cannot run on this machine: {metrics['skipped']}")
    write_jsonl(played, trajectories)
    played.sort(key=lambda e: (e.seed, e.sample))
    return {"eval": eval_summary(metrics), "trajectories": str(trajectories),
            "examples": [example(e, model_name) for e in played[: cfg.examples]]}


# --- the study ---------------------------------------------------------------------------------

def _curve(metrics_path: Path) -> list[dict]:
    """Training success, return and KL per RL step (metrics.jsonl's rollout lines)."""
    curve = []
    for line in metrics_path.read_text().splitlines():
        row = json.loads(line)
        if "success" in row and row["step"] > 0:
            curve.append({"step": row["step"], "success": row["success"], "mean_return": row["mean_return"],
                          "kl": row.get("kl")})
    return curve


def _check_engines(cfg: StudyConfig) -> None:
    from gentax.envs import get_domain

    for name in cfg.eval_domains:
        problems = get_domain(name).problems()
        if problems:
            raise RuntimeError(f"{name} cannot run on this machine: {'; '.join(problems)}")


def run_study(cfg: StudyConfig, out: str | Path, log: Log = print) -> Path:
    """Compute every missing cell, then write results.json (atomically); returns out."""
    from gentax.agents.prompt import PromptConfig
    from gentax.profile import profile_domain
    from gentax.study.starts import make_start

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    _check_engines(cfg)
    cells = Cells(root, log)
    models = Models()
    ev, prof = cfg.eval, cfg.profile
    start_models: dict[str, str] = {}  # start name -> its model (path or id)

    def profile(model: str, d: str) -> dict:
        # the prompts the baseline reads; `start` plays the start's model, whose tokenizer
        # counts the prompt tokens under every policy
        try:
            generator = models.get(("base", model), lambda: _load_base(model))
        except (RuntimeError, OSError, ValueError) as e:
            raise RuntimeError(f"profile.policy: {prof.policy} needs the starting model ({model!r}), "
                               f"which cannot load: {e}") from None
        found, _ = profile_domain(d, policy="model" if prof.policy == "start" else prof.policy,
                                  episodes=prof.episodes, max_steps=prof.max_steps,
                                  with_expert=prof.with_expert, generator=generator,
                                  tokenizer=getattr(generator, "tokenizer", None),
                                  temperature=ev.temperature, max_new_tokens=cfg.eval_tokens(d),
                                  prompt=PromptConfig(ev.history, ev.think, ev.prompt_style),
                                  env_kwargs=cfg.env_kwargs(d))
        return {"profile": found.to_json()}

    def base(model: str, label: str, d: str) -> dict:
        generator = models.get(("base", model), lambda: _load_base(model))
        trajectories = root / "trajectories" / f"{_baseline_name(label, d)}.jsonl"
        return _evaluate_cell(cfg, generator, d, ev.think, ev.history, ev.prompt_style,
                              _named(label, "baseline"), trajectories, log)

    def making(start: StartSpec) -> dict:
        models.get(None, lambda: None)  # free the evaluation model while the start is made
        return make_start(cfg, start, start_models, root / "starts" / start.name, log)

    per_start = []
    for start in cfg.starts:
        label = start_label(cfg, start)
        made = cells.get(f"start-{start.name}", lambda s=start: making(s)) if start.kind != "model" else {
            "model": start_models.get(start.from_, cfg.model)}
        start_models[start.name] = model = made["model"]
        profiles = {d: cells.get(_profile_name(label, d), lambda d=d, m=model: profile(m, d))["profile"]
                    for d in cfg.eval_domains}
        baseline = {d: cells.get(_baseline_name(label, d), lambda d=d, m=model, lb=label: base(m, lb, d))
                    for d in cfg.eval_domains}
        runs = [_run_cells(cfg, run, root, cells, models, log, model, start) for run in plan_runs(cfg, start)]
        per_start.append({
            "name": start.name, "from": start.from_, "kind": start.kind, "model": model,
            "sft_mix": sorted(start.sft_mix), "train_domains": start.train_domains,
            "made": {k: v for k, v in made.items() if k not in COST_KEYS},
            "baseline": {"model": model, "eval": {d: baseline[d]["eval"] for d in cfg.eval_domains}},
            "runs": [{k: v for k, v in r.items() if k != "last_examples"} for r in runs],
            "profiles": profiles, "_examples": (baseline, runs)})

    # results.json's top level (baseline, runs, profiles) is one start's, the one whose runs cover
    # the most training domains (the first on ties); every start is under "starts"
    ref = max(per_start, key=lambda s: len(s["train_domains"]))
    baseline, runs = ref.pop("_examples")
    for s in per_start:
        s.pop("_examples", None)
    results = {
        "name": cfg.name, "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": cfg.raw, "domains": cfg.eval_domains,
        "baseline": ref["baseline"], "runs": ref["runs"], "profiles": ref["profiles"],
        # per domain: the starting model's first episodes, then the first run's last checkpoint's
        "examples": {d: baseline[d]["examples"] + (runs[0]["last_examples"][d] if runs else [])
                     for d in cfg.eval_domains},
    }
    if cfg.named_starts:
        results["start"] = ref["name"]
        results["starts"] = per_start
    results["cells"], results["machines"] = cells.costs()
    write_json_atomic(root / "results.json", results)
    return root


def _run_cells(cfg: StudyConfig, run: Run, root: Path, cells: Cells, models: Models, log: Log,
               model: str, start: StartSpec) -> dict:
    """One run's cells (SFT, training, checkpoint evaluations) from the start's `model`, and its
    entry of results.json."""
    from gentax.train.checkpoint import list_checkpoints
    from gentax.train.trainer import train

    run_dir = root / "runs" / run.id
    if run.variant.sft:
        model = cells.get(f"sft-{run.id}", lambda: _sft(cfg, run, run_dir, model))["model"]
    train_cfg = cfg.run_config(run.train_domain, run.variant, run.seed, model, run_dir / "train",
                               start.augment)

    def saved_steps(run_dir) -> list[int]:
        return [int(p.name.split("-")[1]) for p in list_checkpoints(run_dir)]

    def training() -> dict:
        models.get(None, lambda: None)  # free the evaluation model while training
        # a run cut in an earlier sitting goes on from its last checkpoint: the cell's time is then
        # this sitting's only, and says so
        earlier = saved_steps(train_cfg.out)
        done = train(train_cfg, resume=True, log=lambda r: log(_step_line(r)))
        return {"run_dir": str(done), "curve": _curve(done / "metrics.jsonl"),
                "checkpoints": saved_steps(done), "config": train_cfg.to_dict(),
                "resumed_from_step": earlier[-1] if earlier else 0}

    def evaluate_checkpoint(step: int, d: str) -> dict:
        # the run's folder under this study's folder (the cell's run_dir may name where it was made)
        ckpt = Path(train_cfg.out) / "checkpoints" / f"step-{step:06d}"
        if not (ckpt / "model.safetensors").exists():  # e.g. cells carried to a new machine
            raise RuntimeError(f"checkpoint {ckpt} is gone: delete the cells train-{run.id} and "
                               f"eval-{run.id}-* in {cells.dir} to retrain the run")
        generator = models.get(("ckpt", str(ckpt)), lambda: _load_checkpoint(train_cfg, ckpt))
        return _evaluate_cell(cfg, generator, d, train_cfg.think, train_cfg.history, train_cfg.prompt_style,
                              f"{run.id} step {step}",
                              root / "trajectories" / f"{run.id}-step{step}-{d}.jsonl", log)

    trained = cells.get(f"train-{run.id}", training)
    steps = trained["checkpoints"][-cfg.last_k:]
    per_checkpoint: dict[str, dict] = {}
    examples: dict[str, list] = {}
    for step in steps:
        for d in cfg.eval_domains:
            cell = cells.get(f"eval-{run.id}-step{step}-{d}", lambda s=step, d=d: evaluate_checkpoint(s, d))
            per_checkpoint.setdefault(str(step), {})[d] = cell["eval"]
            examples[d] = cell["examples"]
    variant = run.variant
    return {
        "id": run.id, "train_domain": run.train_domain, **({"start": start.name} if run.start else {}),
        "variant": {"name": variant.name, "augment": variant.augment, "think": variant.think,
                    "sft": variant.sft, "advantage": variant.advantage, "seed": run.seed},
        "curve": trained["curve"], "checkpoints": steps,
        "eval": {d: mean_summary([per_checkpoint[str(s)][d] for s in steps]) for d in cfg.eval_domains},
        "checkpoint_eval": per_checkpoint, "last_examples": examples,
    }


def _sft(cfg: StudyConfig, run: Run, run_dir: Path, model: str) -> dict:
    from gentax.agents.prompt import PromptConfig
    from gentax.train.sft import SFTConfig, collect, mix, sft

    train = {**cfg.train, **run.variant.train}  # the RL run's prompt and env settings, so SFT
    data = run_dir / "sft-data.jsonl"           # pairs look exactly like its prompts
    summary = collect(run.train_domain, cfg.sft.collect_episodes, data, split="train", seed=run.seed,
                      prompt=PromptConfig(train.get("history", 2), run.variant.think,
                                          train.get("prompt_style", "paper")),
                      max_steps=train.get("max_env_steps", {}).get(run.train_domain),
                      env_kwargs=train.get("env_kwargs", {}).get(run.train_domain))
    if not summary["pairs"]:
        raise RuntimeError(f"the {run.train_domain} expert won no episode; no SFT data")
    sft_cfg = SFTConfig(model=model, lr=cfg.sft.lr, batch_size=cfg.sft.batch_size,
                        steps=cfg.sft.steps, warmup_ratio=cfg.sft.warmup_ratio, seed=run.seed)
    model = sft(mix([(str(data), 1.0)], seed=run.seed), run_dir / "sft-model", sft_cfg)
    return {"model": str(model), "collect": summary}


def _step_line(record: dict) -> str:
    keys = ("success", "mean_return", "kl", "rollout_s", "update_s")
    shown = " ".join(f"{k}={record[k]:.3g}" for k in keys if isinstance(record.get(k), int | float))
    return f"  train step {record['step']} {shown}"
