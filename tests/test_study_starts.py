"""Starting points of the study (the paper's V1 and V2) on the tiny random Llama: a study with two
starts (one made by GRPO, one by an SFT mix whose pairs come from the expert and from the first
start's own play) runs every planned cell once, records both starts in results.json and writes
table 6; a rerun computes nothing. `--plan` of configs/paper.yaml lists the paper's cells; the
SFT mix keeps the requested pair ratio; bad starts fail naming the field before anything runs."""

import json

import pytest
import yaml
from test_study import Log  # the study log that lists the cells it computed
from typer.testing import CliRunner

from gentax.cli import app
from gentax.study.config import StudyConfig
from gentax.study.results import load_results
from gentax.study.runner import plan_cells, run_study
from gentax.study.starts import collect_model_pairs, make_start
from gentax.train.config import ConfigError
from gentax.train.sft import collect, mix


def two_starts(model, **changes) -> dict:
    config = {
        "name": "two-starts", "model": model, "eval_domains": ["sokoban", "webshop"],
        "starts": [
            {"name": "A", "from": "base", "rl": {"domain": "sokoban", "steps": 1}},
            {"name": "B", "from": "base",
             "sft": {"mix": {"sokoban": 3, "webshop": 1}, "sources": {"webshop": "A"}, "episodes": 2,
                     "steps": 1, "batch_size": 4}},
        ],
        "train_domains": ["sokoban"], "variants": [{"think": False}], "seeds": [0],
        "train": {"steps": 1, "instances_per_step": 1, "group_size": 2, "lr": 1e-4,
                  "max_response_tokens": {"sokoban": 8, "webshop": 8},
                  "max_env_steps": {"sokoban": 1, "webshop": 2},
                  "env_kwargs": {"sokoban": {"max_solution_steps": 1}}, "history": 0,
                  "mini_batch_size": 16, "micro_batch_size": 8, "val_every": 0, "save_every": 1,
                  "skip_zero_advantage": False},
        "eval": {"episodes": 1, "max_env_steps": 1, "max_new_tokens": 8, "think": False, "history": 0},
        "last_k": 1, "profile": {"episodes": 1, "max_steps": 3}, "examples": 1,
    }
    config.update(changes)
    return config


def test_two_starts_run_every_cell_once_and_the_report_compares_them(tmp_path, tiny_model):
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(two_starts(tiny_model)))
    cfg = StudyConfig.load(config)
    out = tmp_path / "study"
    log = Log()
    run_study(cfg, out, log=log)
    planned = [c.name for c in plan_cells(cfg)]
    assert log.computed() == planned  # every planned cell, once, in the plan's order
    assert planned[0] == "start-A" and "start-B" in planned
    assert "train-A-sokoban-nothink-seed0" in planned and "train-B-sokoban-nothink-seed0" in planned

    results = load_results(out / "results.json")
    assert [s["name"] for s in results["starts"]] == ["A", "B"]
    a, b = results["starts"]
    assert a["sft_mix"] == [] and b["sft_mix"] == ["sokoban", "webshop"]
    assert b["made"]["sources"] == {"sokoban": "expert", "webshop": "A"}
    assert b["made"]["collected"]["webshop"]["pairs"] > 0  # A's own play, kept although it lost
    assert a["model"] != b["model"] != tiny_model
    assert [r["id"] for r in b["runs"]] == ["B-sokoban-nothink-seed0"]
    assert b["runs"][0]["start"] == "B"
    cell = json.loads((out / "cells" / "train-B-sokoban-nothink-seed0.json").read_text())
    assert cell["config"]["model"] == b["model"]  # RL from B starts from B's model

    # the CLI on the finished study: nothing is recomputed, the report has table 6
    result = CliRunner().invoke(app, ["study", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert " ... " not in result.output and "cell " not in result.output
    md = (out / "report.md").read_text()
    assert "Table 6: relative change from A and from B" in md
    top, other = md.split("## Start B\n", 1)  # the start the top level does not show has its own section
    assert "| B-sokoban-nothink-seed0 |" in other
    assert "B-sokoban-nothink-seed0" not in top.split("### Table 6")[0]
    assert "starts/B/model` before RL" in other
    plan = CliRunner().invoke(app, ["study", str(config), "--out", str(out), "--plan"])
    assert plan.exit_code == 0 and "\ttodo" not in plan.output
    assert plan.output.count("\tdone") == len(planned)

    # a start killed after its collection (cell and model gone) collects nothing again
    data = sorted((out / "starts" / "B" / "data").glob("*.jsonl"))
    kept = {p: p.stat().st_mtime_ns for p in data}
    (out / "cells" / "start-B.json").unlink()
    log = Log()
    made = make_start(cfg, cfg.starts[1], {"A": a["model"]}, out / "starts" / "B", log)
    assert [p.name for p in data] == ["sokoban.jsonl", "webshop.jsonl"]
    assert {p: p.stat().st_mtime_ns for p in data} == kept
    assert made["collected"] == b["made"]["collected"] and not any("collecting" in line for line in log)


def test_plan_of_the_paper_study():
    result = CliRunner().invoke(app, ["study", "configs/paper.yaml", "--plan", "--out", "nowhere"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()[1:-1]]
    by_name = {r[0]: r for r in rows}
    assert by_name["start-V1"][1:4] == ["start", "-", "20 GRPO steps on webshop from base"]
    v2 = by_name["start-V2"]
    assert v2[2] == "start-V1"
    assert "sciworld/alfworld/webshop 19:3:1" in v2[3] and "alfworld from V1" in v2[3]
    assert "sciworld from expert" in v2[3] and "SFT 100 steps" in v2[3]
    trains = [r[0] for r in rows if r[1] == "train"]
    assert len(trains) == 3 * (3 + 4) * 3
    trained_from = {s: {t.split("-")[2] for t in trains if t.startswith(f"train-{s}-")} for s in ("V1", "V2")}
    assert trained_from == {"V1": {"alfworld", "webshop", "sokoban"},
                            "V2": {"alfworld", "webshop", "sokoban", "sciworld"}}
    assert by_name["train-V2-sciworld-standard-seed2"][2] == "start-V2"
    evals = [r[0] for r in rows if r[0].startswith("eval-V1-webshop-aug-seed0-")]
    assert sorted({e.split("-step")[1].split("-")[0] for e in evals}, key=int) == ["105", "120", "135", "150"]
    assert len(evals) == 4 * 4
    assert result.output.splitlines()[-1].startswith("2 start(s), 63 runs;")


def test_paper_starts_use_table_11_augmentation():
    cfg = StudyConfig.load("configs/paper.yaml")
    v1, v2 = cfg.starts
    aug = next(v for v in cfg.variants if v.augment)
    run = cfg.run_config("alfworld", aug, 0, "m", "x", v1.augment)
    assert (run.augment_eps, run.augment_prob) == (300, 1.0)
    run = cfg.run_config("webshop", aug, 0, "m", "x", v2.augment)
    assert (run.augment_eps, run.augment_prob) == (40, 0.5)


def test_a_collected_mix_keeps_the_requested_pair_counts(tmp_path, tiny_model):
    # the expert's Sokoban pairs and a model's own (unfiltered) WebShop pairs, mixed 3:1
    expert = collect("sokoban", 6, tmp_path / "sokoban.jsonl", seed=0, max_steps=5,
                     env_kwargs={"max_solution_steps": 3})
    played = collect_model_pairs(tiny_model, "webshop", 2, tmp_path / "webshop.jsonl", max_steps=3,
                                 max_new_tokens=8)
    assert played["pairs"] == sum(1 for _ in open(tmp_path / "webshop.jsonl")) > 0
    rows = mix([(str(tmp_path / "sokoban.jsonl"), 3.0), (str(tmp_path / "webshop.jsonl"), 1.0)])
    counts = {d: sum(r["domain"] == d for r in rows) for d in ("sokoban", "webshop")}
    scale = min(expert["pairs"] / 3, played["pairs"] / 1)
    assert abs(counts["sokoban"] - 3 * scale) <= 1 and abs(counts["webshop"] - scale) <= 1
    first = json.loads(open(tmp_path / "webshop.jsonl").readline())
    # the user prompt as RL builds it (paper style: steps taken so far, never the cap)
    assert "You have already taken 0 steps." in first["prompt"] and "at most 3" not in first["prompt"]


@pytest.mark.parametrize("starts, message", [
    ([{"name": "V2", "from": "V1"}, {"name": "V1"}], "starts[0].from: 'V1' is a later start"),
    ([{"name": "V2", "from": "V9"}], "starts[0].from: 'V9' is not a start"),
    ([{"name": "V2", "sft": {"mix": {"chess": 1}}}], "starts[0].sft.mix: unknown domain 'chess'"),
    ([{"name": "V2", "sft": {"mix": {"webshop": 0}}}], "starts[0].sft.mix.webshop: weight must be > 0"),
    ([{"name": "V2", "sft": {"mix": {"webshop": 1}, "sources": {"webshop": "V1"}}}, {"name": "V1"}],
     "starts[0].sft.sources.webshop: 'V1' is a later start"),
    ([{"name": "V1", "rl": {"steps": 2}}], "starts[0].rl.domain: missing"),
    ([{"name": "V1", "rl": {"domain": "webshop", "stepz": 2}}], "starts[0].rl.stepz: unknown field"),
    ([{"name": "V1"}, {"name": "V1"}], "starts[1].name: 'V1' is used twice"),
])
def test_bad_starts_name_the_field(starts, message, tmp_path):
    with pytest.raises(ConfigError) as e:
        StudyConfig.from_dict(two_starts("default", starts=starts))
    assert str(e.value).startswith(message), str(e.value)
    config = tmp_path / "bad.yaml"  # --plan shows it too: one line, exit 2
    config.write_text(yaml.safe_dump(two_starts("default", starts=starts)))
    result = CliRunner().invoke(app, ["study", str(config), "--plan"])
    assert result.exit_code == 2 and message in result.output


def test_a_source_domain_without_an_expert_is_refused(monkeypatch):
    import dataclasses

    import gentax.study.config as config

    real = config.get_domain

    def no_expert(name):  # webshop as a third-party domain without an expert would be
        spec = real(name)
        return dataclasses.replace(spec, expert="") if spec.name == "webshop" else spec

    monkeypatch.setattr(config, "get_domain", no_expert)
    with pytest.raises(ConfigError, match=r"^starts\[0\]\.sft\.sources\.webshop: the webshop domain has no"):
        StudyConfig.from_dict(two_starts("default", starts=[{"name": "V2", "sft": {"mix": {"webshop": 1}}}]))


def test_plan_names_only_cells_as_dependencies(tmp_path):
    # `reasoned` is a pair policy, not a start; the profile's `start` policy plays the start's model
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(two_starts("default", starts=[
        {"name": "S", "sft": {"mix": {"sokoban": 1, "webshop": 1},
                              "sources": {"sokoban": "expert", "webshop": "reasoned"}}}],
        profile={"episodes": 1, "max_steps": 3, "policy": "start"})))
    result = CliRunner().invoke(app, ["study", str(config), "--plan", "--out", "nowhere"])
    assert result.exit_code == 0, result.output
    by_name = {r[0]: r for r in (line.split("\t") for line in result.output.splitlines()[1:-1])}
    assert by_name["start-S"][2] == "-"
    assert by_name["profile-S-webshop"][2] == "start-S"
