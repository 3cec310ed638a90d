"""Model text -> (thought, action, well-formed): never raises; anything ill-formed is the invalid action."""

from hypothesis import given
from hypothesis import strategies as st

import gentax  # noqa: F401
from gentax.agents.parsing import INVALID_ACTION, format_answer, parse_answer
from gentax.envs import REWARD_INVALID, make_env

# Text without the tag characters, and not only whitespace.
plain = st.text(alphabet=st.characters(blacklist_characters="<>"), min_size=1).filter(lambda s: s.strip())


@given(st.text(), st.booleans())
def test_arbitrary_text_never_raises_and_ill_formed_is_the_invalid_action(text, think):
    parsed = parse_answer(text, think=think)
    if parsed.well_formed:
        assert parsed.action and parsed.action == parsed.action.strip()
    else:
        assert parsed.action == INVALID_ACTION


@given(plain, plain)
def test_well_formed_answers_round_trip(thought, action):
    parsed = parse_answer(format_answer(action, thought), think=True)
    assert parsed.well_formed
    assert parsed.action == " ".join(action.split())
    assert parsed.thought == thought.strip()


@given(plain, st.text(), st.text(alphabet=st.characters(blacklist_characters="<>")))
def test_text_around_the_tags_is_ignored(action, before, after):
    parsed = parse_answer(before.replace("<", "") + format_answer(action, "ok") + after, think=True)
    assert parsed.well_formed and parsed.action == " ".join(action.split())


@given(plain)
def test_think_mode_needs_the_thought_no_think_mode_does_not(action):
    assert not parse_answer(format_answer(action), think=True).well_formed
    parsed = parse_answer(format_answer(action), think=False)
    assert parsed.well_formed and parsed.action == " ".join(action.split())


def test_malformed_answers():
    for text in ["up", "<action>up", "<think>go</think>", "<action>  </action>",
                 "<action>up</action><think>late thought</think>", "<think>unclosed<action>up</action>",
                 "<action><action>up</action>", "", None, 42]:
        parsed = parse_answer(text, think=True)
        assert not parsed.well_formed and parsed.action == INVALID_ACTION, text
    assert parse_answer("<THINK>x</THINK>\n<Action> Up </Action>").action == "Up"
    assert parse_answer("<think>a\nb</think><action>go to\n shelf 1</action>").action == "go to shelf 1"


def test_the_invalid_action_costs_0_1_and_leaves_the_state_unchanged():
    env = make_env("sokoban")
    obs, _ = env.reset(seed=5)
    after, reward, terminated, _, info = env.step(parse_answer("I would go up").action)
    assert reward == REWARD_INVALID and info["invalid"] and after == obs and not terminated
