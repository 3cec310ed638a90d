"""`gentax rollout` (any policy on one domain) and `gentax eval` (a model on several domains)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from gentax.cli.common import (
    AUGMENT,
    AUGMENT_KIND,
    AUGMENT_PROB,
    ENV_ARG,
    ENV_POOL,
    ENV_WORKERS,
    PROMPT_STYLE,
    RAY_ADDRESS,
    AugmentKind,
    Backend,
    DType,
    PoolKind,
    PromptStyle,
    Split,
    augment_config,
    console,
    env_kwargs,
    env_pool,
    fail,
    load_generator,
    print_metrics,
    progress,
    ready_domain,
)


class Policy(StrEnum):
    random = "random"
    expert = "expert"
    model = "model"


def rollout(
    domain: str = typer.Argument(..., help="A domain of `gentax envs`, e.g. sokoban."),
    policy: Policy = typer.Option(Policy.random, help="Who acts: uniform random, the domain's expert, or a "
                                  "model (--model)."),
    episodes: int = typer.Option(10, min=1, help="Number of instances."),
    split: Split = typer.Option(Split.train, help="Which instances: train or eval."),
    max_steps: int | None = typer.Option(None, min=1, help="Step cap (default: the domain's)."),
    seed: int = typer.Option(0, help="Episode i plays instance seed + i; also seeds the policy."),
    out: Path | None = typer.Option(None, help="Write every trajectory to this JSONL file."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    model: str = typer.Option("default", help="--policy model: 'default', a path or hub id."),
    group_size: int = typer.Option(1, min=1, help="--policy model: rollouts per instance (GRPO group)."),
    temperature: float = typer.Option(1.0, min=0.0, help="--policy model: temperature (0 = greedy)."),
    think: bool = typer.Option(True, "--think/--no-think", help="--policy model: ask for <think> first."),
    history: int = typer.Option(2, min=0, help="--policy model: past (observation, action) pairs shown."),
    prompt_style: PromptStyle = PROMPT_STYLE,
    max_new_tokens: int | None = typer.Option(None, min=1, help="--policy model: default: domain's."),
    backend: Backend = typer.Option(Backend.transformers, help="--policy model: generation backend."),
    dtype: DType = typer.Option(DType.auto, help="--policy model: weights / compute dtype."),
    batch_size: int = typer.Option(64, min=1, help="--policy model: most prompts per forward pass."),
    augment: float = AUGMENT,
    augment_prob: float = AUGMENT_PROB,
    augment_kind: AugmentKind = AUGMENT_KIND,
    env_arg: list[str] = ENV_ARG,
    pool_kind: PoolKind = ENV_POOL,
    env_workers: int = ENV_WORKERS,
    ray_address: str = RAY_ADDRESS,
) -> None:
    """Run a policy for several episodes and report success, length and observation size."""
    from gentax.agents.prompt import PromptConfig
    from gentax.rollout.batched import run_batched
    from gentax.rollout.episodes import episode_metrics, write_jsonl
    from gentax.rollout.generation import Sampling
    from gentax.rollout.pool import EnvSpec, play_batched

    spec = ready_domain(domain)
    augmentation = augment_config(augment, augment_prob, augment_kind, seed)
    options, seeds = env_kwargs(env_arg), range(seed, seed + episodes)
    generator = load_generator(model, backend, dtype, batch_size) if policy is Policy.model else None
    with env_pool(pool_kind, env_workers, ray_address) as pool, progress(as_json, generator) as bars:
        total = episodes * (group_size if generator else 1)
        bar = bars.add_task(f"{spec.name} / {policy.value}", total=total)
        done = lambda _: bars.advance(bar)  # noqa: E731
        if generator:
            sampling = Sampling(max_new_tokens=max_new_tokens or spec.max_response_tokens,
                                temperature=temperature, seed=seed)
            played = run_batched(spec.name, seeds, generator, group_size=group_size, split=split.value,
                                 max_steps=max_steps, prompt=PromptConfig(history, think, prompt_style.value),
                                 sampling=sampling,
                                 augment=augmentation, env_kwargs=options, pool=pool, on_episode_end=done)
        else:
            env_spec = EnvSpec(spec.name, split.value, max_steps, augmentation, options)
            played = play_batched(pool, env_spec, seeds, policy.value, policy_seed=seed, on_episode_end=done)
    summary = {"domain": spec.name, "policy": policy.value, "split": split.value, **episode_metrics(played)}
    if generator:
        summary["model"] = model
    if out:
        write_jsonl(played, out)
        summary["out"] = str(out)
    if as_json:
        print(json.dumps(summary))
        return
    print_metrics(f"{spec.name}: {policy.value} policy, {split.value} split", summary)


def evaluate(
    model: str = typer.Option("default", help="'default' (embedded SmolLM2-135M), a path or hub id."),
    domains: str = typer.Option("all", help="'all' or a comma-separated list, e.g. sokoban,webshop."),
    episodes: int = typer.Option(16, min=1, help="Eval instances per domain."),
    temperature: float = typer.Option(0.4, min=0.0, help="Sampling temperature (the paper's: 0.4)."),
    think: bool = typer.Option(True, "--think/--no-think", help="Ask for <think> before the action."),
    seed: int = typer.Option(0, help="Instances seed .. seed+episodes-1; also seeds sampling."),
    out: Path = typer.Option(Path("runs/eval"), help="Folder for summary.json and <domain>.jsonl."),
    split: Split = typer.Option(Split.eval, help="Which instances: eval or train."),
    history: int = typer.Option(2, min=0, help="Past (observation, action) pairs in each prompt."),
    prompt_style: PromptStyle = PROMPT_STYLE,
    max_steps: int | None = typer.Option(None, min=1, help="Step cap (default: each domain's)."),
    max_new_tokens: int | None = typer.Option(None, min=1, help="Per answer (default: domain's)."),
    backend: Backend = typer.Option(Backend.transformers, help="Generation backend."),
    dtype: DType = typer.Option(DType.auto, help="Weights / compute dtype."),
    batch_size: int = typer.Option(64, min=1, help="Most prompts per forward pass."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    augment: float = AUGMENT,
    augment_prob: float = AUGMENT_PROB,
    augment_kind: AugmentKind = AUGMENT_KIND,
    env_arg: list[str] = ENV_ARG,
    pool_kind: PoolKind = ENV_POOL,
    env_workers: int = ENV_WORKERS,
    ray_address: str = RAY_ADDRESS,
) -> None:
    """Evaluate a model on domains: success (pass@1), return, length, invalid and format errors."""
    from gentax.rollout.evaluate import evaluate as run_eval
    from gentax.rollout.evaluate import resolve_domains

    try:
        names = resolve_domains(domains)
    except KeyError as e:
        fail(str(e.args[0]))
    generator = load_generator(model, backend, dtype, batch_size)
    options = env_kwargs(env_arg)
    meta = {"model": model, "domains": names, "episodes": episodes, "temperature": temperature,
            "think": think, "seed": seed, "split": split.value, "history": history,
            "prompt_style": prompt_style.value, "max_steps": max_steps,
            "max_new_tokens": max_new_tokens, "backend": backend.value, "dtype": dtype.value,
            "augment": {"eps": augment, "prob": augment_prob, "kind": augment_kind.value},
            "env_kwargs": options, "env_pool": pool_kind.value}
    with env_pool(pool_kind, env_workers, ray_address) as pool, progress(as_json, generator) as bars:
        tasks: dict[str, int] = {}
        results = run_eval(generator, names, episodes, split=split.value, temperature=temperature,
                           think=think, history=history, prompt_style=prompt_style.value, seed=seed,
                           max_steps=max_steps,
                           max_new_tokens=max_new_tokens, out_dir=out, meta=meta,
                           augment=augment_config(augment, augment_prob, augment_kind, seed),
                           env_kwargs=options, pool=pool,
                           on_start=lambda d, n: tasks.__setitem__(d, bars.add_task(f"eval {d}", total=n)),
                           on_episode_end=lambda e: bars.advance(tasks[e.domain]))
    if as_json:
        print(json.dumps(results))
        return
    table = Table(title=f"eval of {model} ({'think' if think else 'no-think'}, T={temperature})")
    columns = ("success", "mean_return", "mean_length", "invalid_action_rate", "format_error_rate",
               "mean_observation_chars", "truncated_prompt_rate")
    table.add_column("domain")
    for col in columns:
        table.add_column(col.replace("_", " "), justify="right")
    for domain, r in results.items():
        if "skipped" in r:
            table.add_row(domain, f"[yellow]skipped: {r['skipped']}[/yellow]", *[""] * (len(columns) - 1))
        else:
            table.add_row(domain, *[f"{r[c]:.3f}" for c in columns])
    console.print(table)
    console.print(f"summary: {out / 'summary.json'}; trajectories: {out}/<domain>.jsonl")
