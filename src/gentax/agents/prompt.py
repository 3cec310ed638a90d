"""What the model reads at each step (PAPER.md): the task, the step number out of the cap, the
last k (observation, action) pairs, the current observation, the admissible actions where the
domain has them, and how to answer. Each step is its own model input: the history is a short
window written into one user message, never a growing chat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THINK_INSTRUCTION = (
    "First think step by step about the state and your goal inside <think> </think>, then give "
    "exactly one action inside <action> </action>. Answer in this format: "
    "<think>your reasoning</think><action>your action</action>"
)
NO_THINK_INSTRUCTION = (
    "Give exactly one action inside <action> </action> and nothing else. Answer in this format: "
    "<action>your action</action>"
)


@dataclass(frozen=True)
class PromptConfig:
    """How prompts are built. `history`: how many past (observation, action) pairs to show;
    `think`: ask for <think>...</think> before the action (False: the no-think mode)."""

    history: int = 2
    think: bool = True

    def __post_init__(self) -> None:
        if self.history < 0:
            raise ValueError(f"history must be >= 0, got {self.history}")


def build_prompt(
    task: str,
    observation: str,
    step: int,
    max_steps: int,
    history: Sequence[tuple[str, str]] = (),
    admissible_actions: Sequence[str] | None = None,
    config: PromptConfig = PromptConfig(),
) -> str:
    """The user message for step `step` (1-based) of at most `max_steps`.

    `history` holds every earlier (observation, action) pair of the episode, oldest first; only
    the last `config.history` are shown."""
    parts = [f"Task: {task.strip()}", f"Step {step} of at most {max_steps}."]
    shown = list(history)[-config.history :] if config.history else []
    if shown:
        parts.append(f"Your last {len(shown)} step(s), oldest first:")
        first = step - len(shown)
        for i, (past_obs, past_action) in enumerate(shown):
            parts.append(f"[Observation at step {first + i}]\n{past_obs.strip()}\n"
                         f"[Your action at step {first + i}] {past_action or '(invalid answer)'}")
    parts.append(f"Current observation:\n{observation.strip()}")
    if admissible_actions:
        parts.append("Admissible actions: " + ", ".join(admissible_actions))
    parts.append(THINK_INSTRUCTION if config.think else NO_THINK_INSTRUCTION)
    return "\n\n".join(parts)


def chat_messages(user_prompt: str) -> list[dict[str, str]]:
    """One step's chat: a single user turn (the model's own system prompt, if any, is added by
    its chat template)."""
    return [{"role": "user", "content": user_prompt}]
