"""The domain registry: the one place that holds every per-domain fact (how to build it, its step
cap, its prompt and response token budgets, its distractor injector, its expert, what it needs from
the machine).

Built-in domains are registered below; a package outside gentax adds its own with
`register_domain(DomainSpec(...))` or through the `gentax.domains` entry-point group (an entry
point names a `DomainSpec`, or a function returning one). docs/adding-a-domain.md walks through it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium

from gentax.envs.base import REWARD_FAILURE, REWARD_INVALID, REWARD_SUCCESS, SPLITS, TextEnv
from gentax.envs.prompting import DomainPrompt

__all__ = ["DOMAINS", "DomainSpec", "REWARD_FAILURE", "REWARD_INVALID", "REWARD_SUCCESS",
           "SPLITS", "TextEnv", "domain_names", "get_domain", "load_object", "make_env",
           "register_all", "register_domain", "unregister_domain"]

ENTRY_POINT_GROUP = "gentax.domains"


@dataclass(frozen=True)
class DomainSpec:
    """One domain: every fact gentax needs about it.

    `entry_point`, `distractors` and `prompt` are objects or "module:attribute" strings (resolved when
    first used, Gymnasium-style), so the registry imports no domain engine up front."""

    name: str
    entry_point: str | Callable[..., TextEnv]  # the TextEnv subclass (or a factory of one)
    max_steps: int  # per-episode step cap (the paper's, for the built-in domains)
    max_prompt_tokens: int = 4096  # budget of one step's prompt
    max_response_tokens: int = 512  # budget of one step's answer (max new tokens)
    # most episodes a batched rollout runs at once (None: all); the others wait for a free env
    max_live_envs: int | None = None
    # (observation, unwrapped env, rng, eps) -> augmented observation; None: no distractors
    distractors: str | Callable[..., str] | None = None
    expert: str = ""  # what the expert (env.expert_action) is, in words
    splits: str = ""  # how train / eval instances are drawn, in words
    env_id: str = ""  # Gymnasium id; default "gentax/<Name>-v0"
    # what the paper-style prompt says about the domain (envs/prompting.py), or "module:attribute"
    prompt: DomainPrompt | str = DomainPrompt(role="You are an expert agent acting in a text environment.")
    python_packages: tuple[tuple[str, str], ...] = ()  # (module, how to install)
    executables: tuple[tuple[str, str], ...] = ()  # (program, how to install)
    kwargs: dict[str, Any] = field(default_factory=dict)  # default env options

    def __post_init__(self) -> None:
        # lower case, and no ',' or ':' (`domains=sokoban:1,webshop:2` on the command line)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", self.name):
            raise ValueError(f"domain name must be lower-case letters, digits, '-' or '_', got {self.name!r}")
        for key in ("max_steps", "max_prompt_tokens", "max_response_tokens"):
            if getattr(self, key) < 1:
                raise ValueError(f"{self.name}: {key} must be >= 1, got {getattr(self, key)}")
        if self.max_live_envs is not None and self.max_live_envs < 1:
            raise ValueError(f"{self.name}: max_live_envs must be >= 1, got {self.max_live_envs}")
        if not self.env_id:
            object.__setattr__(self, "env_id", f"gentax/{self.name.capitalize()}-v0")

    def prompt_facts(self) -> DomainPrompt:
        """What the paper-style prompt says about the domain (`prompt`, resolved)."""
        return load_object(self.prompt)

    def problems(self) -> list[str]:
        """Why the engine cannot run here (empty when it can)."""
        out = []
        for module, fix in self.python_packages:
            if importlib.util.find_spec(module) is None:
                out.append(f"Python package '{module}' is missing: {fix}")
        for program, fix in self.executables:
            if shutil.which(program) is None:
                out.append(f"program '{program}' is not on PATH: {fix}")
        return out


def load_object(ref: str | Any) -> Any:
    """`ref` itself, or the object a "module:attribute" string names."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


DOMAINS: dict[str, DomainSpec] = {}


def register_domain(spec: DomainSpec, *, replace: bool = False) -> DomainSpec:
    """Add a domain to the registry (and to Gymnasium's). A name already taken is an error
    unless `replace`."""
    if spec.name in DOMAINS and not replace:
        raise ValueError(f"domain {spec.name!r} is already registered")
    DOMAINS[spec.name] = spec
    if spec.env_id in gymnasium.registry:
        del gymnasium.registry[spec.env_id]
    # Gymnasium resolves a "module:attr" entry point itself; its passive checker is off because
    # it would wrap every env for a check that `check_env` (tested per domain) does once.
    gymnasium.register(id=spec.env_id, entry_point=spec.entry_point, max_episode_steps=spec.max_steps,
                       disable_env_checker=True, kwargs=spec.kwargs)
    return spec


def load_plugins() -> None:
    """Register the domains of installed packages (entry-point group `gentax.domains`). Runs once
    when gentax.envs is imported (as Gymnasium loads its plug-ins); a broken plug-in is a warning,
    not a crash of every gentax command."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            spec = obj if isinstance(obj, DomainSpec) else obj()
            if not isinstance(spec, DomainSpec):
                raise TypeError(f"gave {type(spec).__name__}, not a DomainSpec")
            if spec.name not in DOMAINS:
                register_domain(spec)
        except Exception as e:  # noqa: BLE001 - one bad plug-in must not take the others down
            warnings.warn(f"gentax domain plug-in {ep.name!r} ({ep.value}) failed: {e}", stacklevel=2)


def unregister_domain(name: str) -> None:
    """Remove a domain from the registry and from Gymnasium's."""
    spec = DOMAINS.pop(name)
    gymnasium.registry.pop(spec.env_id, None)


def domain_names() -> list[str]:
    """Every registered domain, built-in ones first."""
    return list(DOMAINS)


def get_domain(name: str) -> DomainSpec:
    key = name.lower()
    if key not in DOMAINS:
        close = difflib.get_close_matches(key, DOMAINS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown domain {name!r}{hint}; known: {', '.join(DOMAINS)}")
    return DOMAINS[key]


def register_all() -> None:
    """Make sure every domain (plug-ins included) is registered with Gymnasium."""
    for name in domain_names():
        spec = DOMAINS[name]
        if spec.env_id not in gymnasium.registry:
            register_domain(spec, replace=True)


def make_env(domain: str, split: str = "train", max_steps: int | None = None, **kwargs: Any) -> gymnasium.Env:
    """Build a domain by short name, with its step cap unless `max_steps` is given. Wrap it for
    distractors Gymnasium-style: `AugmentWrapper(make_env(...), AugmentConfig(...))`."""
    spec = get_domain(domain)
    problems = spec.problems()
    if problems:
        raise RuntimeError(f"{spec.name} cannot run here: " + "; ".join(problems))
    register_all()
    return gymnasium.make(spec.env_id, split=split, max_episode_steps=max_steps or spec.max_steps, **kwargs)


# ----- the built-in domains (token budgets and step caps: the paper's, docs/paper.md) ---------
for _spec in [
    DomainSpec(
        name="sokoban",
        env_id="gentax/Sokoban-v0",
        entry_point="gentax.envs.sokoban:SokobanEnv",
        max_steps=15, max_prompt_tokens=4096, max_response_tokens=512,
        distractors="gentax.augment.injectors:sokoban",
        prompt="gentax.envs.sokoban.prompt:SOKOBAN_PROMPT",
        expert="BFS solver (optimal plan, replanned from the current state)",
        splits="procedural rooms; a room's content hash puts it in train (4/5) or eval (1/5)",
    ),
    DomainSpec(
        name="webshop",
        env_id="gentax/WebShop-v0",
        entry_point="gentax.envs.webshop:WebShopEnv",
        max_steps=15, max_prompt_tokens=4096, max_response_tokens=1024,
        distractors="gentax.augment.injectors:webshop",
        prompt="gentax.envs.webshop.prompt:WEBSHOP_PROMPT",
        expert="gold path: search, page to the goal product, pick its options, buy",
        splits="1,000 generated products; goals shuffled as WebShop: first 500 eval, rest train",
        python_packages=(("bm25s", "pip install bm25s"), ("rapidfuzz", "pip install rapidfuzz"),
                         ("Stemmer", "pip install PyStemmer")),
    ),
    DomainSpec(
        name="alfworld",
        env_id="gentax/ALFWorld-v0",
        entry_point="gentax.envs.alfworld:ALFWorldEnv",
        max_steps=50, max_prompt_tokens=2048, max_response_tokens=512,
        distractors="gentax.augment.injectors:alfworld",
        prompt="gentax.envs.alfworld.prompt:ALFWORLD_PROMPT",
        expert="ALFWorld's hand-coded expert (pick_two patched)",
        splits="generated from ALFRED floor plans: train plans 7-30, eval unseen plans 1-6 "
        "($ALFWORLD_DATA: official files)",
        python_packages=(
            ("alfworld", "make setup (or: pip install 'gentax[alfworld]')"),
            ("textworld", "make setup (or: pip install 'gentax[alfworld]')"),
            ("fast_downward", "make setup (or: pip install fast-downward-textworld; compiles ~2 min)"),
        ),
    ),
    DomainSpec(
        name="sciworld",
        env_id="gentax/ScienceWorld-v0",
        entry_point="gentax.envs.sciworld:SciWorldEnv",
        max_steps=50, max_prompt_tokens=2048, max_response_tokens=1024,
        max_live_envs=16,  # each env holds its own JVM (a 256 MB heap plus its overhead)
        distractors="gentax.augment.injectors:sciworld",
        prompt="gentax.envs.sciworld.prompt:SCIWORLD_PROMPT",
        expert="the engine's gold action sequence (followed while the agent stays on it)",
        splits="seed -> task type (30) + variation; train = engine train variations, eval = engine test",
        python_packages=(("scienceworld", "pip install scienceworld==1.2.3"),),
        executables=(("java", "apt-get install openjdk-17-jre-headless"),),
    ),
]:
    register_domain(_spec)
load_plugins()
