"""The one validated config of `gentax train`: YAML file plus `key=value` overrides.

Every field has its default and a help string here, once; a bad value is a one-line error
that names the field. `configs/paper-train.yaml` is one run of the paper's study, `configs/cpu.yaml` a
CPU-sized one."""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gentax.config import ConfigError, build, check, merge, parse_overrides, read_yaml, unknown_key
from gentax.config import option as _f
from gentax.envs import domain_names, get_domain, load_object

__all__ = ["ConfigError", "TrainConfig", "validate"]


@dataclass
class TrainConfig:
    model: str = _f("default", "model: 'default' (embedded SmolLM2-135M-Instruct), a local path or hub id")
    domains: dict[str, float] = _f({"sokoban": 1.0}, "training domain(s) and their sampling weights")
    steps: int = _f(150, "RL steps", min=1)
    instances_per_step: int = _f(16, "task instances per step", min=1)
    group_size: int = _f(8, "rollouts per instance (GRPO group)", min=2)
    lr: float = _f(1e-6, "learning rate", min=0.0)
    lr_schedule: str = _f("constant", "constant or cosine", choices=("constant", "cosine"))
    warmup_ratio: float = _f(0.0, "share of steps for linear warm-up", min=0.0, max=1.0)
    rollout_temperature: float = _f(1.0, "sampling temperature of training rollouts (> 0: the update "
                                    "needs the log-probs of a sampled distribution)", min=0.0)
    val_temperature: float = _f(0.4, "sampling temperature of validation", min=0.0)
    advantage: str = _f("grpo", "grpo: one advantage per trajectory, given to all its steps; gigpo: plus a "
                        "step-level one from anchor states (docs/training.md, GiGPO)",
                        choices=("grpo", "gigpo"))
    gigpo_gamma: float = _f(0.95, "advantage gigpo: discount of the step-level returns (verl-agent's "
                            "scripts)", min=0.0, max=1.0)
    gigpo_omega: float = _f(1.0, "advantage gigpo: weight of the step-level advantage", min=0.0)
    gigpo_norm: str = _f("mean_std_norm", "advantage gigpo: divide both levels by the group std "
                         "(mean_std_norm) or only subtract the mean (mean_norm, verl-agent's default)",
                         choices=("mean_std_norm", "mean_norm"))
    clip_eps: float = _f(0.2, "PPO clip range", min=0.0)
    kl_coef: float = _f(0.01, "KL penalty to the frozen reference model", min=0.0)
    mini_batch_size: int = _f(256, "(state, action) samples per optimizer step", min=1)
    micro_batch_size: int = _f(8, "at most this many samples per forward/backward pass", min=1)
    micro_batch_tokens: int = _f(4096, "and at most this many padded tokens per pass: bounds the "
                                 "activations (docs/training.md, memory)", min=1)
    gradient_checkpointing: bool = _f(False, "recompute each layer in backward: less memory, more time")
    ppo_epochs: int = _f(1, "passes over the step's samples (each a reshuffled set of mini-batches)", min=1)
    old_logprobs: str = _f("trainer", "the PPO old policy: the trainer's own forward before the update "
                           "(verl) or the sampler's log-probs", choices=("trainer", "sampler"))
    max_grad_norm: float = _f(1.0, "gradient clipping", min=0.0)
    skip_zero_advantage: bool = _f(False, "drop samples of zero advantage (they carry only the KL term; "
                                   "dropping them also shrinks the token-mean denominator)")
    max_prompt_tokens: dict[str, int] = _f({}, "per-domain prompt budget (else the registry's)")
    max_response_tokens: dict[str, int] = _f({}, "per-domain answer budget (else the registry's)")
    max_env_steps: dict[str, int] = _f({}, "per-domain step cap; missing domains use the registry's")
    env_kwargs: dict[str, dict] = _f({}, "per-domain env options, e.g. {sokoban: {max_solution_steps: 2}}")
    think: bool = _f(True, "ask for <think>...</think> before <action>")
    history: int = _f(2, "previous (observation, action) pairs in the prompt", min=0)
    prompt_style: str = _f("paper", "paper (the paper's per-domain prompts) or compact (one generic "
                           "template)", choices=("paper", "compact"))
    augment_eps: float = _f(0.0, "distractor volume (0 = off)", min=0.0)
    augment_prob: float = _f(1.0, "probability a trajectory is augmented", min=0.0, max=1.0)
    augment_kind: str = _f("domain", "domain or cross", choices=("domain", "cross"))
    lora: bool = _f(False, "train LoRA adapters (peft) instead of all weights")
    lora_rank: int = _f(16, "LoRA rank", min=1)
    lora_alpha: int = _f(32, "LoRA alpha", min=1)
    dtype: str = _f("auto", "auto, float32 or bfloat16 (auto: bf16 autocast with fp32 weights)",
                    choices=("auto", "float32", "bfloat16"))
    ref_dtype: str = _f("auto", "weights of the frozen reference: auto = the compute dtype (bf16 where "
                        "matmuls run in bf16, else the policy's)", choices=("auto", "float32", "bfloat16"))
    # vLLM is not in training yet: it would keep sampling from the starting weights (docs/scale.md)
    backend: str = _f("transformers", "generation backend of training rollouts", choices=("transformers",))
    env_pool: str = _f("inprocess", "where envs run: inprocess, process (local workers) or ray (actors)",
                       choices=("inprocess", "process", "ray"))
    env_workers: int = _f(2, "env_pool process/ray: number of env workers", min=1)
    ray_address: str = _f("", "env_pool ray: '' = local Ray, 'auto' = the cluster of `ray start`, "
                          "or an address")
    val_every: int = _f(15, "validate on the eval split every N steps (0 = never)", min=0)
    val_episodes: int = _f(32, "validation episodes per domain", min=1)
    save_every: int = _f(15, "checkpoint every N steps", min=1)
    keep_last: int = _f(0, "keep only the newest N checkpoints (0 = keep all)", min=0)
    seed: int = _f(0, "seed of everything")
    out: str = _f("runs/train", "run folder (metrics.jsonl, checkpoints/)")

    def __post_init__(self) -> None:
        validate(self)
        if self.rollout_temperature <= 0:
            raise ConfigError("rollout_temperature: must be > 0 (greedy rollouts give the update no "
                              f"sampled log-probs), got {self.rollout_temperature!r}")

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
        """YAML file (optional) then `key=value` overrides (values parsed as YAML)."""
        values = merge(read_yaml(path) if path else {}, parse_overrides(overrides or []))
        if isinstance(values.get("domains"), str):  # "sokoban" or "sokoban:1,webshop:2"
            values["domains"] = _parse_mix(values["domains"])
        return build(cls, values)

    def prompt_tokens(self, domain: str) -> int:
        return self.max_prompt_tokens.get(domain, get_domain(domain).max_prompt_tokens)

    def response_tokens(self, domain: str) -> int:
        return self.max_response_tokens.get(domain, get_domain(domain).max_response_tokens)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition(":")
        try:
            mix[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"domains: weight of {name.strip()!r} must be a number, got {weight!r}"
                              ) from None
    return mix


def validate(cfg: TrainConfig) -> None:
    """Every field's type, range and choices, then the per-domain maps name known domains."""
    check(cfg)
    for key in ("gigpo_gamma", "gigpo_omega"):  # the range checks let nan and inf through
        if not math.isfinite(getattr(cfg, key)):
            raise ConfigError(f"{key}: must be a finite number, got {getattr(cfg, key)!r}")
    known = domain_names()
    if not cfg.domains:
        raise ConfigError("domains: at least one training domain is needed")
    for name, weight in cfg.domains.items():
        if weight <= 0:
            raise ConfigError(f"domains: weight of {name} must be > 0, got {weight}")
    for key in ("domains", "max_prompt_tokens", "max_response_tokens", "max_env_steps", "env_kwargs"):
        for name in getattr(cfg, key):
            if name not in known:
                try:
                    get_domain(name)
                except KeyError as e:  # its message suggests the closest name
                    raise ConfigError(f"{key}: {e.args[0]}") from None
    for name, options in cfg.env_kwargs.items():
        _check_env_options(name, options)


def _check_env_options(domain: str, options: dict[str, Any]) -> None:
    """Env options must be parameters of the domain's env (else it would fail only when built)."""
    env_class = load_object(get_domain(domain).entry_point)
    params = inspect.signature(env_class).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = [p for p in params if p not in ("self", "split", "render_mode")]
    for key in options:
        if key not in known:
            raise unknown_key(key, known, f"env_kwargs.{domain}.")
