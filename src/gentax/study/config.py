"""The study config (`gentax study CONFIG.yaml`): which model, domains, variants and seeds, and
the settings of every cell. A bad value is one error naming the field, as in TrainConfig.

A variant is a dict of four switches (augment, think, sft, advantage), an optional name and optional
`train:` overrides applied on top of the study's `train:` block. Built on gentax.config, like
TrainConfig: every field's default and help is here once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gentax.agents.prompt import PROMPT_STYLES
from gentax.config import ConfigError, build, read_yaml, unknown_key
from gentax.config import option as _f
from gentax.envs import domain_names, get_domain
from gentax.train.config import TrainConfig

# Sources of SFT pairs that are a policy of the domain, not a start (train/collect.py).
PAIR_POLICIES = ("expert", "reasoned")
# Fields of the study's `train:` block that the study sets itself, per run (think and advantage
# are variant switches: the report tells variants apart by them).
SET_BY_STUDY = ("model", "domains", "out", "seed", "think", "advantage")


@dataclass
class Variant:
    """One factor setting of the runs: the four switches, a name, and TrainConfig overrides."""

    name: str = _f("", "shown in the report (default: from the switches, e.g. aug-think, gigpo-think)")
    augment: bool = _f(False, "distractors in the training states (the `augment:` block's volume)")
    think: bool = _f(True, "ask for <think>...</think> before the action")
    sft: bool = _f(False, "SFT warm-up on the training domain's expert pairs first (`sft:` block)")
    advantage: str = _f("grpo", "the run's TrainConfig advantage: grpo (per trajectory) or gigpo (plus "
                        "step-level credit from anchor states)", choices=("grpo", "gigpo"))
    train: dict[str, Any] = _f({}, "TrainConfig fields set for this variant only")

    def __post_init__(self) -> None:
        if not self.name:
            on = (("aug", self.augment), ("sft", self.sft), ("gigpo", self.advantage == "gigpo"))
            self.name = "-".join([t for t, switched in on if switched]
                                 + ["think" if self.think else "nothink"])
        if not all(c.isalnum() or c in "-_" for c in self.name):
            raise ConfigError(f"name: expected letters, digits, - or _, got {self.name!r}")
        _check_train_block(self.train, "train.")


@dataclass
class EvalSettings:
    episodes: int = _f(8, "evaluation episodes per domain and model", min=1)
    max_env_steps: int | None = _f(None, "step cap (null: the runs' train.max_env_steps, else each domain's)",
                                   min=1)
    max_new_tokens: int | None = _f(None, "answer budget (null: the runs' train.max_response_tokens, else "
                                    "each domain's)", min=1)
    temperature: float = _f(0.4, "sampling temperature of evaluations", min=0.0)
    think: bool = _f(True, "the baseline's prompt asks for thinking")
    history: int = _f(2, "the baseline's (observation, action) pairs in the prompt", min=0)
    prompt_style: str = _f("paper", "the baseline's prompts: paper (per domain) or compact (generic)",
                           choices=PROMPT_STYLES)
    seed: int = _f(0, "first instance seed of the eval split", min=0)


@dataclass
class ProfileSettings:
    episodes: int = _f(128, "episodes per domain", min=1)
    max_steps: int = _f(50, "step cap of profiling episodes (the paper's T_max)", min=1)
    policy: str = _f("random", "who plays the profiled episodes (start: the study's starting model, as "
                     "the paper)", choices=("random", "expert", "start"))
    with_expert: bool = _f(False, "also measure the expert's success and length")


@dataclass
class SFTSettings:
    collect_episodes: int = _f(32, "expert episodes collected for the SFT variants", min=1)
    steps: int = _f(100, "SFT optimizer steps", min=1)
    lr: float = _f(5e-6, "SFT learning rate", min=0.0)
    batch_size: int = _f(32, "SFT pairs per optimizer step", min=1)
    warmup_ratio: float = _f(0.1, "share of SFT steps for linear warm-up", min=0.0, max=1.0)


@dataclass
class AugmentSettings:
    # one volume, or one per training domain (the paper's differ by domain)
    eps: float | dict[str, float] = _f(80.0, "distractor volume of the augment variants (or per domain)")
    prob: float = _f(1.0, "probability a trajectory is augmented", min=0.0, max=1.0)
    kind: str = _f("domain", "distractors of the domain itself, or another domain's state",
                   choices=("domain", "cross"))


@dataclass
class StartSFT:
    """The SFT that makes a start: pairs of several domains in a ratio, each from a source."""

    mix: dict[str, float] = _f({}, "domain -> weight; the ratio counts (state, action) pairs "
                               "(the paper's 19:3:1)")
    sources: dict[str, str] = _f({}, "domain -> 'expert' (the domain's expert, privileged where it is), "
                                 "'reasoned' (a policy on visible information, with its reasons) or an "
                                 "earlier start's name (its own policy plays, pairs kept unfiltered); "
                                 "default expert")
    episodes: int = _f(32, "episodes played per source domain to collect pairs", min=1)
    steps: int = _f(100, "SFT optimizer steps", min=1)
    batch_size: int = _f(32, "SFT pairs per optimizer step", min=1)
    lr: float = _f(5e-6, "SFT learning rate", min=0.0)
    schedule: str = _f("cosine", "learning-rate schedule after warm-up", choices=("cosine",))
    warmup_ratio: float = _f(0.1, "share of SFT steps for linear warm-up", min=0.0, max=1.0)


@dataclass
class StartSpec:
    """A starting point of the runs: the study's model (`from: base`) or an earlier start,
    optionally after RL on one domain (`rl:`) or an SFT mix (`sft:`). In YAML `from` is the key."""

    name: str = _f("", "the start's name (run and cell names carry it)")
    from_: str = _f("base", "'base' (the study's model) or the name of an earlier start")
    rl: dict[str, Any] = _f({}, "GRPO that makes this start: {domain: D, steps: N, ...TrainConfig fields}")
    sft: StartSFT = _f(StartSFT(), "SFT that makes this start (mix, sources, schedule; no mix: none)")
    train_domains: list[str] | str = _f([], "domains RL runs start from here (default: the study's)")
    augment: AugmentSettings = _f(AugmentSettings(), "augmentation from this start (default: the study's)")

    @property
    def sft_mix(self) -> frozenset[str]:
        return frozenset(self.sft.mix)

    @property
    def kind(self) -> str:
        return "rl" if self.rl else "sft" if self.sft.mix else "model"


@dataclass
class StudyConfig:
    name: str = _f("study", "the study's name (report title)")
    model: str = _f("default", "the starting model: 'default' (embedded SmolLM2-135M-Instruct), path or id")
    eval_domains: list[str] | str = _f("all", "domains every model is evaluated on ('all' or a list)")
    train_domains: list[str] | str = _f([], "domains trained on (default: the evaluation domains)")
    variants: list[Variant] = _f([], "factor settings of the runs (default: one standard variant)")
    seeds: list[int] = _f([0], "seeds of every run")
    train: dict[str, Any] = _f({}, "TrainConfig fields shared by every run")
    augment: AugmentSettings = _f(AugmentSettings(), "volume, probability and kind of the augment variants")
    eval: EvalSettings = _f(EvalSettings(), "how every model is evaluated")
    last_k: int = _f(4, "checkpoints evaluated per run (the last K; the paper's 4)", min=1)
    profile: ProfileSettings = _f(ProfileSettings(), "how the domains are profiled")
    sft: SFTSettings = _f(SFTSettings(), "the SFT warm-up of the sft variants (training domain's expert)")
    starts: list[StartSpec] = _f([], "starting points of the runs (default: one, the model)")
    examples: int = _f(3, "example trajectories kept per domain", min=0)
    raw: dict[str, Any] = field(default_factory=dict, metadata={"help": "the file as read"})

    @classmethod
    def load(cls, path: str | Path) -> StudyConfig:
        return cls.from_dict(read_yaml(path))

    @classmethod
    def from_dict(cls, data: Any) -> StudyConfig:
        if not isinstance(data, dict):
            raise ConfigError("the study config must be a mapping of fields")
        if "raw" in data:
            raise unknown_key("raw", [f.name for f in dataclasses.fields(cls) if f.name != "raw"])
        values = dict(data)
        if isinstance(values.get("starts"), list):  # `from` is a Python keyword: field from_
            values["starts"] = [{("from_" if k == "from" else k): v for k, v in s.items()}
                                if isinstance(s, dict) else s for s in values["starts"]]
        cfg = build(cls, {**values, "raw": dict(data)})
        _finish(cfg)
        return cfg

    @property
    def named_starts(self) -> bool:
        """Whether the config lists `starts:` (then run and cell names carry the start's name;
        without it the one start is the model and names are as before starts existed)."""
        return bool(self.raw.get("starts"))

    # The domains' shape is the `train:` block's (env_kwargs, max_env_steps, max_response_tokens):
    # every cell (start, profile, evaluation, run) plays the same Sokoban size or task types.
    def env_kwargs(self, domain: str) -> dict[str, Any]:
        """The domain's env options in this study (`train.env_kwargs`)."""
        return dict(self.train.get("env_kwargs", {}).get(domain) or {})

    def eval_steps(self, domain: str) -> int | None:
        """An evaluation's step cap: `eval.max_env_steps`, else the runs' (`train.max_env_steps`),
        else the domain's own."""
        return self.eval.max_env_steps or self.train.get("max_env_steps", {}).get(domain)

    def eval_tokens(self, domain: str) -> int | None:
        """An evaluation's answer budget: `eval.max_new_tokens`, else the runs'
        (`train.max_response_tokens`), else the domain's own."""
        return self.eval.max_new_tokens or self.train.get("max_response_tokens", {}).get(domain)

    def run_config(self, train_domain: str, variant: Variant, seed: int, model: str, out: str | Path,
                   augment: AugmentSettings | None = None) -> TrainConfig:
        """The TrainConfig of one run: study `train:` block, the variant's switches (augmentation
        from `augment`, default the study's), its overrides."""
        values = {**self.train, "model": model, "domains": {train_domain: 1.0}, "seed": seed,
                  "think": variant.think, "advantage": variant.advantage, "out": str(out)}
        if variant.augment:
            augment = augment or self.augment
            eps = augment.eps
            eps = eps[train_domain] if isinstance(eps, dict) else eps
            values.update(augment_eps=float(eps), augment_prob=float(augment.prob),
                          augment_kind=augment.kind)
        values.update(variant.train)
        try:
            return build(TrainConfig, values)
        except ConfigError as e:
            raise ConfigError(f"variants[{variant.name}].train.{e}") from None


def _check_train_block(train: dict[str, Any], where: str) -> None:
    known = [f.name for f in dataclasses.fields(TrainConfig)]
    for k in train:
        if k in SET_BY_STUDY:
            raise ConfigError(f"{where}{k}: is set by the study per run (model, domains, out, seed; think "
                              "and advantage by the variant)")
        if k not in known:
            raise unknown_key(k, known, where)


def _domains(value: list[str] | str, where: str) -> list[str]:
    if value == "all":
        return domain_names()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not value:
        raise ConfigError(f"{where}: expected 'all' or a non-empty list of domains")
    for name in value:
        try:
            get_domain(name)
        except KeyError as e:
            raise ConfigError(f"{where}: {e.args[0]}") from None
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: has duplicates")
    return list(value)


def _finish(cfg: StudyConfig) -> None:
    """Cross-field checks and defaults that depend on other fields."""
    cfg.eval_domains = _domains(cfg.eval_domains, "eval_domains")
    cfg.train_domains = _domains(cfg.train_domains or cfg.eval_domains, "train_domains")
    for d in cfg.train_domains:
        if d not in cfg.eval_domains:
            raise ConfigError(f"train_domains: {d!r} must also be an evaluation domain (in-domain success)")
    if not cfg.seeds:
        raise ConfigError("seeds: expected a non-empty list of integers")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ConfigError("seeds: has duplicates")
    cfg.variants = cfg.variants or [Variant()]
    seen: dict[tuple, int] = {}
    for i, v in enumerate(cfg.variants):
        switches = (v.augment, v.think, v.sft, v.advantage)
        if switches in seen:
            raise ConfigError(f"variants[{i}]: has the same augment/think/sft/advantage switches as variants"
                              f"[{seen[switches]}]; the report tells variants apart by these switches")
        seen[switches] = i
    names = [v.name for v in cfg.variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"variants: names must be unique, got {names}")
    _check_train_block(cfg.train, "train.")
    if not cfg.starts:
        _check_eps(cfg.augment, cfg.train_domains, "augment.eps")
    # Every run's TrainConfig must be valid before anything starts: the shared block first.
    try:
        build(TrainConfig, {**cfg.train, "model": cfg.model, "domains": {cfg.train_domains[0]: 1.0}})
    except ConfigError as e:
        raise ConfigError(f"train.{e}") from None
    for variant in cfg.variants:
        cfg.run_config(cfg.train_domains[0], variant, cfg.seeds[0], cfg.model, "unused")
    _finish_starts(cfg)


def _check_eps(augment: AugmentSettings, train_domains: list[str], where: str) -> None:
    eps = augment.eps
    for d in train_domains:
        value = eps.get(d) if isinstance(eps, dict) else eps
        at = f"{where}.{d}" if isinstance(eps, dict) else where
        if value is None:
            raise ConfigError(f"{at}: missing: every training domain needs its volume")
        if value <= 0:
            raise ConfigError(f"{at}: must be > 0 (it is the volume the augment variants use)")


def _finish_starts(cfg: StudyConfig) -> None:
    """Each start names only earlier starts, its RL block is a valid TrainConfig, its SFT mix names
    known domains with positive weights and sources that exist; defaults from the study."""
    if not cfg.starts:
        cfg.starts = [StartSpec(name="model", train_domains=list(cfg.train_domains), augment=cfg.augment)]
        return
    earlier: list[str] = []
    for i, start in enumerate(cfg.starts):
        at = f"starts[{i}]"
        if not start.name or not all(c.isalnum() or c in "-_" for c in start.name):
            raise ConfigError(f"{at}.name: expected letters, digits, - or _, got {start.name!r}")
        if start.name in earlier or start.name == "base":
            raise ConfigError(f"{at}.name: {start.name!r} is used twice (or is 'base', the study's model)")
        _check_start_name(start.from_, earlier, cfg, f"{at}.from")
        given = cfg.raw["starts"][i]
        if "rl" in given and "sft" in given:
            raise ConfigError(f"{at}: give rl or sft, not both (chain two starts instead)")
        if "rl" in given:
            _check_rl(cfg, start.rl, f"{at}.rl")
        if "sft" in given:
            _check_sft(cfg, start.sft, earlier, f"{at}.sft")
        start.train_domains = _domains(start.train_domains or cfg.train_domains, f"{at}.train_domains")
        for d in start.train_domains:
            if d not in cfg.eval_domains:
                raise ConfigError(f"{at}.train_domains: {d!r} must also be an evaluation domain")
        if "augment" not in given:
            start.augment = cfg.augment
        if any(v.augment for v in cfg.variants):
            _check_eps(start.augment, start.train_domains,
                       f"{at}.augment.eps" if "augment" in given else "augment.eps")
        earlier.append(start.name)


def _check_start_name(name: str, earlier: list[str], cfg: StudyConfig, where: str) -> None:
    if name == "base" or name in earlier:
        return
    later = [s.name for s in cfg.starts]
    what = "a later start (starts are made in order)" if name in later else "not a start"
    raise ConfigError(f"{where}: {name!r} is {what}; expected 'base' or one of "
                      f"{earlier or 'no earlier start'}")


def _check_rl(cfg: StudyConfig, rl: dict[str, Any], where: str) -> None:
    if "domain" not in rl:
        raise ConfigError(f"{where}.domain: missing: the domain the start is trained on")
    domain = rl["domain"]
    try:
        get_domain(str(domain))
    except KeyError as e:
        raise ConfigError(f"{where}.domain: {e.args[0]}") from None
    overrides = {k: v for k, v in rl.items() if k != "domain"}
    _check_train_block(overrides, f"{where}.")
    try:
        build(TrainConfig, {**cfg.train, **overrides, "model": cfg.model, "domains": {domain: 1.0}})
    except ConfigError as e:
        raise ConfigError(f"{where}.{e}") from None


def _check_sft(cfg: StudyConfig, sft: StartSFT, earlier: list[str], where: str) -> None:
    if not sft.mix:
        raise ConfigError(f"{where}.mix: expected a non-empty mapping domain -> weight")
    for d, weight in sft.mix.items():
        try:
            get_domain(d)
        except KeyError as e:
            raise ConfigError(f"{where}.mix: {e.args[0]}") from None
        if weight <= 0:
            raise ConfigError(f"{where}.mix.{d}: weight must be > 0, got {weight}")
    for d, source in sft.sources.items():
        if d not in sft.mix:
            raise ConfigError(f"{where}.sources.{d}: not in the mix ({', '.join(sft.mix)})")
        if source not in PAIR_POLICIES:
            if source not in earlier:
                later = [s.name for s in cfg.starts]
                what = "a later start" if source in later else "not a start"
                raise ConfigError(f"{where}.sources.{d}: {source!r} is {what}; expected 'expert', 'reasoned' "
                                  f"or one of {earlier or 'no earlier start'}")
    for d in sft.mix:
        sft.sources.setdefault(d, "expert")
        if sft.sources[d] in PAIR_POLICIES and not get_domain(d).expert:
            raise ConfigError(f"{where}.sources.{d}: the {d} domain has no expert; name an earlier start")
