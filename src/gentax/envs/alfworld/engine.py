"""The engine ALFWorld plays on: TextWorld's PDDL env, wrapped as ALFWorld wraps it."""

from __future__ import annotations

from functools import lru_cache


def _share_translations() -> None:
    """Fast Downward's translation of (domain, problem) is a pure function, yet TextWorld runs it
    twice at load and twice again at reset of the same game: keep the last few results."""
    import fast_downward

    if getattr(fast_downward.pddl2sas, "_gentax_shared", False):
        return
    translate = fast_downward.pddl2sas

    @lru_cache(maxsize=8)
    def shared(domain: str, problem: str, verbose: bool = False, optimize: bool = False):
        return translate(domain, problem, verbose=verbose, optimize=optimize)

    shared._gentax_shared = True  # type: ignore[attr-defined]
    fast_downward.pddl2sas = shared


def make_engine():
    """TextWorld's `PddlEnv` with ALFWorld's wrappers (ids -> "apple 1", game file in infos)."""
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos
    from textworld.envs import PddlEnv

    # facts: ALFWorld's hand-coded expert reads them.
    infos = textworld.EnvInfos(won=True, admissible_commands=True, facts=True, feedback=True,
                               extras=["gamefile"])
    _share_translations()
    return AlfredInfos(AlfredDemangler(PddlEnv(infos)))


def expert_walkthrough(gamefile: str, seed: int, max_steps: int) -> list[str] | None:
    """The patched hand-coded expert's winning commands on this game, or None if it does not win
    within `max_steps` (used offline, when a game is generated)."""
    from gentax.envs.alfworld.expert import PatchedHandCodedExpert

    engine = make_engine()
    try:
        engine.load(gamefile)
        state = engine.reset()
        expert = PatchedHandCodedExpert(gamefile, seed=seed)
        expert.observe_intro(state.feedback)
        commands: list[str] = []
        while len(commands) < max_steps and not expert.failed:
            command = expert.next_action
            state, _, _ = engine.step(command)
            commands.append(command)
            if state["won"]:
                return commands
            expert.observe_step(state, command)
        return None
    finally:
        engine.close()
