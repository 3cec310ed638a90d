"""ALFWorld's hand-coded expert (alfworld.agents.expert.HandCodedTWAgent), patched and made
reproducible.

The patch: alfworld 0.4.2's grammar says "move X to Y" but the expert's state tracking still
looks for "put", so after placing the first object of pick_two_obj_and_place it believes it still
holds it and never finishes. `PatchedHandCodedExpert` rewrites "move X to Y" as "put X in/on Y"
before the tracking sees it (only there: the commands it emits are unchanged).

The expert draws from Python's global `random` (which object to take, a random admissible command
when stuck); here it draws from its own seeded state, so the same game gives the same actions.
"""

from __future__ import annotations

import random
import re
from typing import Any

MOVE = re.compile(r"^move (.+) to (.+)$")


def tracking_command(command: str) -> str:
    """The command as the expert's state tracking understands it ("move" -> "put ... in/on ...")."""
    match = MOVE.match(command)
    return f"put {match.group(1)} in/on {match.group(2)}" if match else command


class PatchedHandCodedExpert:
    """ALFWorld's `AlfredExpert` (handcoded) logic: observe the intro, answer "look" first, then
    the hand-coded policy's action whenever it is admissible (else "look", as ALFWorld does)."""

    def __init__(self, gamefile: str, seed: int, max_steps: int = 200):
        from alfworld.agents.expert import HandCodedTWAgent

        self._rng_state = random.Random(seed).getstate()
        self.agent = HandCodedTWAgent(max_steps=max_steps)
        self.agent.reset(gamefile)
        policy = self.agent.policy
        original = policy.update_state_tracking
        policy.update_state_tracking = lambda state, last: original(state, tracking_command(last))
        self.next_action = "look"
        self.failed = False

    def _with_own_random(self, fn, *args):
        saved = random.getstate()
        random.setstate(self._rng_state)
        try:
            return fn(*args)
        finally:
            self._rng_state = random.getstate()
            random.setstate(saved)

    def observe_intro(self, feedback: str) -> None:
        self._with_own_random(self.agent.observe, feedback)

    def observe_step(self, state: Any, command: str) -> None:
        """After the env ran `command` and reached `state` (needs feedback, facts, admissible
        commands and won), work out the next action."""
        from alfworld.agents.expert import HandCodedAgentFailed, HandCodedAgentTimeout

        self.next_action = "look"
        if self.failed:
            return
        try:
            action = self._with_own_random(self.agent.act, state, 0, state["won"], command)
        except (HandCodedAgentFailed, HandCodedAgentTimeout):
            self.failed = True
            return
        if action in state["admissible_commands"]:
            self.next_action = action
