"""State richness and planning complexity of a domain under a base policy (the paper's section 5
and appendix B).

- richness: mean characters of the whole per-step user prompt the agent reads (the run's prompt
  style and history: preamble, task, past observations and actions, the observation, the
  actions, the instruction), as the paper counts it; also its tokens with the starting model's
  tokenizer, and the observation alone;
- planning complexity: mean trajectory length, a failed trajectory counting as the step cap,
  so one number covers horizon and goal reachability;
- reachability: success rate; the expert's optimal length; admissible actions per state.

The paper's base policy is its starting LLM (128 trajectories, T_max 50); random and expert
play stay available (their prompts are the ones an LLM agent would read in the same states).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from gentax.agents.policies import ExpertPolicy, Policy, make_policy
from gentax.agents.prompt import PromptConfig, build_prompt
from gentax.augment import AugmentConfig, with_augment
from gentax.envs import get_domain, make_env
from gentax.rollout.batched import (
    Generator,
    input_token_counter,
    prompt_history,
    run_batched,
)
from gentax.rollout.episodes import Episode, run_episode
from gentax.rollout.generation import Sampling

POLICIES = ("random", "expert", "model")


@dataclass
class DomainProfile:
    domain: str
    policy: str
    episodes: int
    max_steps: int
    augment_eps: float
    prompt_style: str  # the prompts whose size is the richness
    history: int
    richness_chars: float  # mean characters of the per-step user prompt
    richness_tokens: float | None  # its mean tokens (None without a tokenizer)
    observation_chars: float  # mean characters of the observation alone
    truncated_prompt_rate: float  # share of prompts cut to fit the domain's token budget
    planning_complexity: float  # mean length, failures counted as max_steps
    success_rate: float
    mean_length: float  # raw mean trajectory length
    expert_length: float | None  # mean length of the expert's winning trajectories
    expert_success: float | None
    admissible_per_state: float  # mean number of admissible actions per state seen

    def to_json(self) -> dict:
        return asdict(self)


def step_prompts(
    episode: Episode, prompt: PromptConfig, max_steps: int,
    max_tokens: int | None = None, count_input_tokens: Callable[[str], int] | None = None,
) -> list[Any]:
    """The user prompt of each step of `episode`, as the agent reads it (`build_prompt`'s Prompt):
    the state before step i is the reset's info for the first step, then the previous step's."""
    infos = [episode.reset_info] + [s.info for s in episode.steps[:-1]]
    return [build_prompt(episode.domain, info, step.observation, prompt_history(episode.steps[:i]), prompt,
                         max_steps=max_steps, max_tokens=max_tokens, count_tokens=count_input_tokens)
            for i, (info, step) in enumerate(zip(infos, episode.steps, strict=True))]


def profile_from_episodes(
    episodes: list[Episode],
    max_steps: int,
    prompt: PromptConfig = PromptConfig(),
    tokenizer: Any = None,
    max_prompt_tokens: int | None = None,
) -> dict[str, float | None]:
    """The profile numbers of a set of trajectories of one domain. With a tokenizer, prompts are
    fitted to `max_prompt_tokens` (default: the domain's budget) as in rollouts, and counted."""
    count_input = count_user = None
    if tokenizer is not None:
        count_input = input_token_counter(tokenizer)
        count_user = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    budget = max_prompt_tokens or (get_domain(episodes[0].domain).max_prompt_tokens if episodes else None)
    prompts = [p for e in episodes for p in step_prompts(e, prompt, max_steps, budget, count_input)]
    observations = [s.observation for e in episodes for s in e.steps]
    # Admissible actions offered in each state: the reset info for the first state, then the
    # info that came back with the previous step.
    offered = []
    for e in episodes:
        offered.append(len(e.reset_info.get("admissible_actions") or []))
        offered += [len(s.info.get("admissible_actions") or []) for s in e.steps[:-1]]
    n, m = max(len(episodes), 1), max(len(prompts), 1)
    return {
        "richness_chars": sum(len(p.text) for p in prompts) / m,
        "richness_tokens": sum(count_user(p.text) for p in prompts) / m if count_user else None,
        "observation_chars": sum(map(len, observations)) / max(len(observations), 1),
        "truncated_prompt_rate": sum(p.truncated for p in prompts) / m,
        "planning_complexity": sum(e.length if e.won else max_steps for e in episodes) / n,
        "success_rate": sum(e.won for e in episodes) / n,
        "mean_length": sum(e.length for e in episodes) / n,
        "admissible_per_state": sum(offered) / max(len(offered), 1),
    }


def profile_domain(
    domain: str,
    policy: str | Callable[..., Policy] = "random",
    episodes: int = 128,
    max_steps: int = 50,
    augment: AugmentConfig | None = None,
    seed: int = 0,
    split: str = "eval",
    prompt: PromptConfig = PromptConfig(),
    tokenizer: Any = None,
    generator: Generator | None = None,
    temperature: float = 0.4,
    max_new_tokens: int | None = None,
    with_expert: bool = True,
    on_episode: Callable[[], None] | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> tuple[DomainProfile, list[Episode]]:
    """Play `episodes` episodes (instance seeds seed..seed+episodes-1) and measure the domain.

    `policy`: "random", "expert", "model" (the LLM `generator`, all episodes batched, sampled at
    `temperature` with `max_new_tokens` per answer, default the domain's) or a factory `env -> Policy`.
    `tokenizer` (the starting model's; default the generator's) counts the prompts' tokens and
    fits them to the domain's budget. `env_kwargs`: the domain's options (e.g. Sokoban's rows=5)."""
    env_kwargs = env_kwargs or {}
    spec = get_domain(domain)
    if policy == "model":
        if generator is None:
            raise ValueError("policy: 'model' needs a generator (the LLM that plays)")
        tokenizer = tokenizer if tokenizer is not None else getattr(generator, "tokenizer", None)
        sampling = Sampling(max_new_tokens=max_new_tokens or spec.max_response_tokens,
                            temperature=temperature, seed=seed)
        played = run_batched(spec.name, range(seed, seed + episodes), generator, split=split,
                             max_steps=max_steps, prompt=prompt, sampling=sampling, augment=augment,
                             on_episode_end=(lambda _: on_episode()) if on_episode else None,
                             env_kwargs=env_kwargs)
        name = "model"
    else:
        env = with_augment(make_env(spec.name, split=split, max_steps=max_steps, **env_kwargs), augment)
        if isinstance(policy, str):
            if policy not in POLICIES:
                raise ValueError(f"policy: unknown policy {policy!r} (known: {', '.join(POLICIES)})")
            act, name = make_policy(policy, env, seed=seed), policy
        else:
            act, name = policy(env), getattr(policy, "name", "custom")
        played = []
        for i in range(episodes):
            played.append(run_episode(env, act, seed=seed + i))
            if on_episode:
                on_episode()
        env.close()
    numbers = profile_from_episodes(played, max_steps, prompt, tokenizer)
    expert_length = expert_success = None
    if with_expert:
        expert_env = make_env(spec.name, split=split, max_steps=max_steps, **env_kwargs)
        expert = ExpertPolicy(expert_env)
        runs = [run_episode(expert_env, expert, seed=seed + i) for i in range(episodes)]
        expert_env.close()
        wins = [e.length for e in runs if e.won]
        expert_success = len(wins) / max(len(runs), 1)
        expert_length = sum(wins) / len(wins) if wins else None
    profile = DomainProfile(
        domain=spec.name, policy=name, episodes=episodes, max_steps=max_steps,
        augment_eps=augment.eps if augment else 0.0, prompt_style=prompt.style, history=prompt.history,
        expert_length=expert_length, expert_success=expert_success, **numbers,
    )
    return profile, played
