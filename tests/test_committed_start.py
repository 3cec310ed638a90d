"""The committed start (models/mini-start: what configs/mini.yaml and `make demo` start from) is
what its provenance says and learned what it was trained on: its Sokoban pairs are the ones the
command in configs/mini.yaml's header collects, and, loaded by its folder name (merged into the
embedded default model, offline), it plays 5x5 Sokoban in the answer format with legal moves,
where the default model does not."""

import json
from pathlib import Path

import pytest

from gentax.agents.models import load_model
from gentax.agents.prompt import PromptConfig
from gentax.rollout.evaluate import evaluate
from gentax.rollout.generation import TransformersGenerator
from gentax.study.config import StudyConfig
from gentax.train.collect import collect
from gentax.train.provenance import file_sha256

START = Path("models/mini-start")
SOKOBAN = {"rows": 5, "cols": 5, "max_solution_steps": 2}
PLAY = {"temperature": 0.0, "think": True, "history": 1, "prompt_style": "compact", "max_steps": 4,
        "max_new_tokens": 96, "env_kwargs": SOKOBAN}


def test_the_study_configs_start_from_the_committed_start():
    for name in ("mini", "demo"):
        cfg = StudyConfig.load(f"configs/{name}.yaml")
        assert cfg.model == str(START) and cfg.train["env_kwargs"]["sokoban"] == SOKOBAN
    adapter = json.loads((START / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "default"  # loads wherever the default model does


def test_its_sokoban_pairs_are_the_ones_the_documented_command_collects(tmp_path):
    provenance = json.loads((START / "provenance.json").read_text())
    recorded = {Path(f["path"]).name: f["sha256"] for f in provenance["files"]}
    # configs/mini.yaml: gentax collect sokoban --policy expert --seed 0 --max-steps 4 ...
    collect("sokoban", 320, tmp_path / "sokoban.jsonl", seed=0, max_steps=4, env_kwargs=SOKOBAN,
            prompt=PromptConfig(history=1, think=True, style="compact"))
    assert file_sha256(tmp_path / "sokoban.jsonl") == recorded["sokoban.jsonl"]


@pytest.mark.slow
def test_it_answers_sokoban_with_legal_moves_where_the_default_model_does_not(generator):
    start = TransformersGenerator(load_model(str(START), dtype="float32"), batch_size=8)
    trained = evaluate(start, ["sokoban"], 8, **PLAY)["sokoban"]
    base = evaluate(generator, ["sokoban"], 8, **PLAY)["sokoban"]
    assert trained["invalid_action_rate"] <= 0.2 < base["invalid_action_rate"], (trained, base)
