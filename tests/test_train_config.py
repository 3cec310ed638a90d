"""The training config: YAML + overrides, and errors that name the field."""

import pytest

from gentax.train.config import ConfigError, TrainConfig


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 20\ngroup_size: 4\ndomains: {sokoban: 1.0}\nlr: 1.0e-5\n")
    cfg = TrainConfig.load(path, ["steps=30", "think=false", "domains=sokoban:2"])
    assert (cfg.steps, cfg.group_size, cfg.think, cfg.lr) == (30, 4, False, 1e-5)
    assert cfg.domains == {"sokoban": 2.0}


def test_exponent_without_a_dot_is_a_number():
    # YAML 1.1 reads `1e-5` as a string; a user typing lr=1e-5 means the number
    assert TrainConfig.load(None, ["lr=1e-5", "kl_coef=2e-3"]).lr == 1e-5


@pytest.mark.parametrize(
    ("override", "field"),
    [("steps=0", "steps"), ("lr=fast", "lr"), ("dtype=fp8", "dtype"), ("group_size=1", "group_size"),
     ("domains=chess", "domains"), ("warmup_ratio=2", "warmup_ratio"), ("colour=blue", "colour"),
     ("think", "think")],
)
def test_bad_values_name_the_field(override, field):
    with pytest.raises(ConfigError, match=f"^{field}"):
        TrainConfig.load(None, [override])
