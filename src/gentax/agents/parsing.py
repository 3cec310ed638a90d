"""From model text to an action: `<think>...</think><action>...</action>` (or `<action>` only in
the no-think mode). Never raises: anything that does not parse becomes INVALID_ACTION, which
every domain rejects (reward -0.1, state unchanged)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The empty action: no domain understands it, so the env scores it as an invalid action.
INVALID_ACTION = ""

_ACTION = re.compile(r"<action>(.*?)</action>", re.DOTALL | re.IGNORECASE)
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ParsedAnswer:
    thought: str  # the reasoning inside <think> (empty when absent)
    action: str  # the action to send to the env (INVALID_ACTION when ill-formed)
    well_formed: bool  # the answer followed the requested format


def parse_answer(text: object, think: bool = True) -> ParsedAnswer:
    """Split a model answer into thought and action.

    Well-formed: a non-empty `<action>...</action>` (the first one counts; generation stops at
    its closing tag), and in think mode a `<think>...</think>` that closes before it. Only one
    action may be given: a second `<action>` inside the first is ill-formed."""
    if not isinstance(text, str):
        return ParsedAnswer("", INVALID_ACTION, False)
    action_match = _ACTION.search(text)
    think_match = _THINK.search(text)
    thought = think_match.group(1).strip() if think_match else ""
    if action_match is None:
        return ParsedAnswer(thought, INVALID_ACTION, False)
    action = " ".join(action_match.group(1).split())  # one line, single spaces
    if not action or "<action>" in action.lower():
        return ParsedAnswer(thought, INVALID_ACTION, False)
    if think and (think_match is None or think_match.end() > action_match.start()):
        return ParsedAnswer(thought, INVALID_ACTION, False)
    return ParsedAnswer(thought, action, True)


def format_answer(action: str, thought: str | None = None) -> str:
    """The answer text parse_answer expects (used for SFT targets and tests)."""
    head = f"<think>{thought}</think>" if thought is not None else ""
    return f"{head}<action>{action}</action>"
