"""The step prompt (PAPER.md) for every domain whose engine runs here."""

import pytest

import gentax  # noqa: F401
from gentax.agents.prompt import PromptConfig, build_prompt
from gentax.envs import DOMAINS, make_env

READY = [name for name, spec in DOMAINS.items() if not spec.problems()]


def _play(domain, moves):
    """Reset, take `moves` expert steps; return the (obs, action) history, current obs, info."""
    env = make_env(domain, split="eval")
    obs, info = env.reset(seed=2)
    history = []
    for _ in range(moves):
        action = env.unwrapped.expert_action() or ""
        history.append((obs, action))
        obs, _, terminated, truncated, info = env.step(action)
        assert not (terminated or truncated), "instance too short for this test"
    return history, obs, info


@pytest.mark.parametrize("domain", READY)
def test_prompt_has_task_step_last_k_pairs_observation_actions_and_format(domain):
    history, obs, info = _play(domain, 3)
    cap = DOMAINS[domain].max_steps
    text = build_prompt(info["task"], obs, step=4, max_steps=cap, history=history,
                        admissible_actions=info.get("admissible_actions"))
    assert text.startswith("Task: " + info["task"].strip())
    assert f"Step 4 of at most {cap}." in text
    assert obs.strip() in text.split("Current observation:")[1]
    # default k = 2: steps 2 and 3 are shown with their actions, step 1 is not
    assert "[Observation at step 2]" in text and "[Observation at step 3]" in text
    assert "[Observation at step 1]" not in text
    assert f"[Your action at step 3] {history[2][1]}" in text
    if info.get("admissible_actions"):
        assert "Admissible actions: " + ", ".join(info["admissible_actions"]) in text
    assert "<think>your reasoning</think><action>your action</action>" in text


@pytest.mark.parametrize("domain", READY)
def test_no_think_mode_and_history_window(domain):
    history, obs, info = _play(domain, 2)
    text = build_prompt(info["task"], obs, 3, 10, history, info.get("admissible_actions"),
                        PromptConfig(history=0, think=False))
    assert "<think>" not in text and "<action>your action</action>" in text
    assert "[Observation at step" not in text
    one = build_prompt(info["task"], obs, 3, 10, history, None, PromptConfig(history=1))
    assert "[Observation at step 2]" in one and "[Observation at step 1]" not in one
    assert "Admissible actions" not in one  # (no domain's observation lists them: only the prompt)


def test_invalid_history_size_is_rejected():
    with pytest.raises(ValueError, match="history"):
        PromptConfig(history=-1)
