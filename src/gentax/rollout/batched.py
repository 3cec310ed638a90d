"""Batched LLM rollouts: many episodes at once, one generation call per step for all of them.

Every live episode contributes its prompt to the step's single `generate` call, so the model
always decodes a batch as wide as the number of live episodes. Groups of G rollouts of the
same instance (GRPO's groups) are just G episodes with the same instance seed. Works with
any domain of the registry through the TextEnv API (info["task"], info["admissible_actions"])."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gentax.agents.parsing import parse_answer
from gentax.agents.prompt import PromptConfig, build_prompt, chat_messages, shown_action
from gentax.augment import AugmentConfig
from gentax.envs import get_domain
from gentax.rollout.episodes import Episode, Step
from gentax.rollout.pool import EnvPool, EnvSpec, make_pool
from gentax.rollout.sampling import Generator, Sampling


def input_token_counter(tokenizer: Any, render: Callable[[list[dict[str, str]]], str] | None = None
                        ) -> Callable[[str], int]:
    """user message -> tokens of the whole model input (the chat template included; `render`
    defaults to the tokenizer's own chat template with the generation prompt, as generators do)."""
    render = render or (lambda messages: tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True))
    return lambda text: len(tokenizer(render(chat_messages(text)), add_special_tokens=False)["input_ids"])


@dataclass
class _Live:
    """One running episode: its slot in the env pool, what the agent sees now, its record so far."""

    slot: int
    observation: str
    info: dict[str, Any]
    episode: Episode


def run_batched(
    domain: str,
    seeds: Sequence[int],
    generator: Generator,
    *,
    group_size: int = 1,
    split: str = "eval",
    max_steps: int | None = None,
    prompt: PromptConfig = PromptConfig(),
    sampling: Sampling | None = None,
    on_episode_end: Callable[[Episode], None] | None = None,
    augment: AugmentConfig | None = None,
    env_kwargs: dict[str, Any] | None = None,
    pool: EnvPool | str | None = None,
    max_prompt_tokens: int | None = None,
    max_live: int | None = None,
) -> list[Episode]:
    """Play `group_size` episodes of each instance seed in `seeds`, all at once.

    Returns the episodes ordered by (seed, sample). `sampling` defaults to the domain's
    response budget at temperature 1; its seed (if any) is varied per step. `pool`: where the
    envs run, an EnvPool (kept open for the caller) or a kind ("inprocess", "process", "ray";
    made and closed here); default: in this process. An episode whose env worker was lost
    starts over from reset (its steps so far dropped, reset_info["infra_retry"] set), or ends
    with info["infra_failure"] when that happens twice. Prompts are fitted to `max_prompt_tokens`
    (default: the domain's budget) with the generator's tokenizer; a step whose prompt was cut
    records how in `Step.prompt_cut`. At most `max_live` episodes (default: the domain's
    `max_live_envs`, else all) run at once; each next one starts in the env a finished one freed."""
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    spec = get_domain(domain)
    cap = max_steps or spec.max_steps
    sampling = sampling or Sampling(max_new_tokens=spec.max_response_tokens)
    budget = max_prompt_tokens or spec.max_prompt_tokens
    # fitted with the generator's tokenizer; a generator without one (a test's) is not budgeted
    tokenizer = getattr(generator, "tokenizer", None)
    count_tokens = input_token_counter(tokenizer, generator.render) if tokenizer is not None else None
    instance_seeds = [int(seed) for seed in seeds for _ in range(group_size)]
    width = max_live if max_live is not None else spec.max_live_envs
    if width is not None and width < 1:
        raise ValueError(f"max_live must be >= 1, got {width}")
    width = width or len(instance_seeds)
    own_pool = not isinstance(pool, EnvPool)
    envs = make_pool(pool or "inprocess") if own_pool else pool
    env_spec = EnvSpec(spec.name, split, cap, augment, dict(env_kwargs or {}))
    episodes: list[Episode] = []
    live: list[_Live] = []

    def admit() -> None:
        """Start the next waiting episodes, up to `width` live ones."""
        while len(live) < width and len(episodes) < len(instance_seeds):
            admit_some(instance_seeds[len(episodes):len(episodes) + width - len(live)])

    def admit_some(waiting: list[int]) -> None:
        first = len(episodes)
        started = envs.start(env_spec, waiting)
        for i, (seed, (slot, outcome)) in enumerate(zip(waiting, started, strict=True), start=first):
            episode = Episode(domain=spec.name, split=split, seed=seed, task=outcome.info.get("task", ""),
                              reset_info=outcome.info, sample=i % group_size)
            episodes.append(episode)
            if outcome.info.get("infra_failure"):  # its worker was lost twice before it began
                envs.release([slot])
                if on_episode_end:
                    on_episode_end(episode)
            else:
                live.append(_Live(slot, outcome.observation, outcome.info, episode))

    try:
        admit()
        step_no = 0
        while live:
            # 1. one prompt per live episode, all answered by one generate call
            users = [build_prompt(
                spec.name, e.info, e.observation, prompt_history(e.episode.steps), prompt,
                max_steps=cap, max_tokens=budget, count_tokens=count_tokens) for e in live]
            prompts = [generator.render(chat_messages(user.text)) for user in users]
            step_sampling = sampling if sampling.seed is None else replace(
                sampling, seed=sampling.seed + 7919 * step_no)
            answers = generator.generate(prompts, step_sampling)
            # 2. parse each answer and step its env (all workers at once); ill-formed answers
            # are the invalid action
            parsed = [parse_answer(answer.text, think=prompt.think) for answer in answers]
            outcomes = envs.step({e.slot: p.action for e, p in zip(live, parsed, strict=True)})
            still_live, ended = [], []
            for e, text_in, user, answer, p in zip(live, prompts, users, answers, parsed, strict=True):
                out = outcomes[e.slot]
                if out.restarted:  # its env worker was lost: the episode starts over from reset
                    e.episode.steps.clear()
                    e.episode.reset_info = out.info
                    e.observation, e.info = out.observation, out.info
                    still_live.append(e)
                    continue
                e.episode.steps.append(Step(
                    observation=e.observation, action=p.action, reward=out.reward, info=out.info,
                    prompt=text_in, response=answer.text, thought=p.thought,
                    well_formed=p.well_formed, token_ids=answer.token_ids, logprobs=answer.logprobs,
                    prompt_cut={"history_dropped": user.history_dropped,
                                "observation_cut": user.observation_cut} if user.truncated else None))
                e.observation, e.info = out.observation, out.info
                if out.terminated or out.truncated:
                    e.episode.won = bool(out.info["won"])
                    e.episode.truncated = bool(out.truncated and not out.terminated)
                    ended.append(e.slot)
                    if on_episode_end:
                        on_episode_end(e.episode)
                else:
                    still_live.append(e)
            envs.release(ended)
            live = still_live
            admit()
            step_no += 1
    finally:
        envs.release([e.slot for e in live])
        if own_pool:
            envs.close()
    return episodes


def prompt_history(steps: Sequence[Step]) -> list[tuple[str, str]]:
    """The (observation, action) pairs a prompt shows; an invalid step shows as the domain's no-op."""
    return [(s.observation, shown_action(s.action, bool(s.info.get("invalid")))) for s in steps]
