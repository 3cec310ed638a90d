"""What every generation backend shares: how to sample (`Sampling`), what comes back
(`Generation`), the backend interface (`Generator`) and its tokens/s (`Throughput`).
`gentax.rollout.generation` (transformers) and `gentax.rollout.vllm_backend` implement it;
rollouts and the trainer only see this module."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

STOP = ("</action>",)


@dataclass(frozen=True)
class Sampling:
    """How to sample. temperature 0 = greedy. `seed` makes sampling reproducible."""

    max_new_tokens: int = 512
    temperature: float = 1.0
    stop: tuple[str, ...] = STOP
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")


@dataclass
class Generation:
    """One answer: its text, the prompt and response token ids, and one log-prob per response token."""

    text: str
    token_ids: list[int]
    logprobs: list[float]
    prompt_token_ids: list[int] = field(default_factory=list)
    finish_reason: str = "length"  # "stop" (a stop string), "eos" or "length"


class Generator(Protocol):
    def render(self, messages: list[dict[str, str]]) -> str: ...
    def generate(self, prompts: Sequence[str], sampling: Sampling) -> list[Generation]: ...


class Throughput:
    """New tokens and tokens per second since it was made, read from a generator's
    `tokens_generated` counter while it decodes (a generator without one counts nothing)."""

    def __init__(self, generator: Any):
        self.generator = generator
        self.start, self.start_tokens = time.monotonic(), self.tokens()

    def tokens(self) -> int:
        return getattr(self.generator, "tokens_generated", 0)

    def seconds(self) -> float:
        return time.monotonic() - self.start

    def text(self) -> str:
        new = self.tokens() - self.start_tokens
        return f"{new:,} tokens, {new / max(self.seconds(), 1e-6):.1f} tokens/s"
