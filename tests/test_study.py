"""`gentax study` end to end on a tiny randomly initialised Llama (the default model's tokenizer),
real environments, real GRPO and SFT: results.json holds exactly the cells' numbers, a rerun
recomputes nothing finished, a cut training run resumes from its checkpoint, bad configs fail
naming the field, and zero baselines reach the report as "undefined"."""

import ctypes
import json
import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from scripted import CELL, board_block
from typer.testing import CliRunner

from gentax.cli import app
from gentax.study.config import StudyConfig
from gentax.study.report import build_report
from gentax.study.results import load_results
from gentax.study.runner import Cells, mean_summary, plan_runs, run_study
from gentax.train.checkpoint import list_checkpoints
from gentax.train.config import ConfigError
from gentax.train.trainer import train


def tiny_study(model, **changes) -> dict:
    config = {
        "name": "tiny", "model": model, "eval_domains": ["sokoban", "webshop"], "train_domains": ["sokoban"],
        "variants": [{"think": False}, {"think": False, "sft": True}], "seeds": [0],
        "train": {"steps": 2, "instances_per_step": 1, "group_size": 2, "lr": 1e-4,
                  "max_response_tokens": {"sokoban": 8}, "max_env_steps": {"sokoban": 1},
                  "env_kwargs": {"sokoban": {"rows": 5, "cols": 5, "max_solution_steps": 1}}, "history": 0,
                  "mini_batch_size": 16, "micro_batch_size": 8, "val_every": 0, "save_every": 1,
                  "skip_zero_advantage": False},
        "eval": {"episodes": 2, "max_env_steps": 2, "max_new_tokens": 8, "think": False, "history": 0},
        "last_k": 2, "profile": {"episodes": 2, "max_steps": 5},
        "sft": {"collect_episodes": 2, "steps": 1, "batch_size": 4}, "examples": 1,
    }
    config.update(changes)
    return config


class Log(list):
    def __call__(self, line):
        self.append(str(line))

    def computed(self):
        return [line.removeprefix("cell ").removesuffix(" ...") for line in self if line.endswith(" ...")]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("study")
    cfg = StudyConfig.from_dict(tiny_study(tiny_model))
    log = Log()
    run_study(cfg, out, log=log)
    build_report(out)
    return out, cfg, log


def cell(out, name):
    return json.loads((out / "cells" / f"{name}.json").read_text())


def test_results_hold_exactly_the_cells_numbers(finished):
    out, cfg, log = finished
    results = load_results(out / "results.json")  # also checks the report's schema
    domains = ["sokoban", "webshop"]
    assert results["domains"] == domains
    assert sorted(log.computed()) == sorted(
        [f"profile-{d}" for d in domains] + [f"baseline-{d}" for d in domains]
        + ["train-sokoban-nothink-seed0", "sft-sokoban-sft-nothink-seed0", "train-sokoban-sft-nothink-seed0"]
        + [f"eval-sokoban-{v}-seed0-step{s}-{d}" for v in ("nothink", "sft-nothink") for s in (1, 2)
           for d in domains])
    # every evaluation cell says how far it got (at the latest when it ends), with its token rate
    progress = re.compile(r"  (sokoban|webshop): 2/2 episodes, \d+ s, [\d,]+ tokens, [\d.]+ tokens/s")
    done = [line for line in log if progress.fullmatch(line)]
    assert len(done) == len([c for c in log.computed() if c.startswith(("baseline-", "eval-"))])
    for d in domains:
        assert results["baseline"]["eval"][d] == cell(out, f"baseline-{d}")["eval"]
        assert results["profiles"][d] == cell(out, f"profile-{d}")["profile"]
    assert [r["id"] for r in results["runs"]] == [r.id for r in plan_runs(cfg)]
    for run in results["runs"]:
        assert run["checkpoints"] == [1, 2]  # the last K = 2 of the run's checkpoints
        trained = cell(out, f"train-{run['id']}")
        assert run["curve"] == trained["curve"] and [p["step"] for p in run["curve"]] == [1, 2]
        for d in domains:
            first, second = (cell(out, f"eval-{run['id']}-step{s}-{d}")["eval"] for s in (1, 2))
            for key in ("success", "mean_return", "mean_length", "invalid_action_rate", "format_error_rate"):
                assert run["eval"][d][key] == pytest.approx((first[key] + second[key]) / 2), key
            assert run["eval"][d]["episodes"] == first["episodes"] + second["episodes"] == 2 * 2
    sft_run = results["runs"][1]
    assert sft_run["variant"] == {"name": "sft-nothink", "augment": False, "think": False, "sft": True,
                                  "advantage": "grpo", "seed": 0}
    sft_model = cell(out, f"sft-{sft_run['id']}")["model"]
    assert cell(out, f"train-{sft_run['id']}")["config"]["model"] == sft_model  # RL starts from the SFT model
    # SFT pairs are prompted exactly as the RL run: paper prompts, puzzles of 1 move
    data = Path(sft_model).parent / "sft-data.jsonl"
    pairs = [json.loads(line) for line in data.read_text().splitlines()]
    assert pairs and all("You have already taken 0 steps." in p["prompt"] for p in pairs)
    # example trajectories are real steps of the evaluated episodes
    example = results["examples"]["sokoban"][0]
    assert example["model"] == "baseline" and example["steps"][0]["observation"]
    # every cell plays the domain in the shape the train block gives it (5x5 rooms), not the
    # domain's default (6x6): the baseline, the checkpoints' evaluations and the profile
    for name in ("baseline-sokoban", "eval-sokoban-nothink-seed0-step2-sokoban"):
        for line in Path(cell(out, name)["trajectories"]).read_text().splitlines():
            first = json.loads(line)["steps"][0]["observation"]
            assert "Wall at (4, 4)" in first and "(5, " not in first and ", 5)" not in first


def test_every_cell_records_its_time_machine_and_commit(finished):
    out, _, log = finished
    results = load_results(out / "results.json")
    assert [c["name"] for c in results["cells"]] == log.computed()  # the first run computed them all
    assert len(results["machines"]) == 1 and results["machines"][0]["cpus"] >= 1
    for c in results["cells"]:
        assert c == {"name": c["name"], **{k: cell(out, c["name"])[k] for k in ("seconds", "cpu_seconds",
                                                                              "git_commit", "git_dirty")},
                     "machine": 0, "resumed_from_step": 0 if c["name"].startswith("train-") else None}
        assert c["seconds"] > 0 and cell(out, c["name"])["machine"] == results["machines"][0]
    md = (out / "report.md").read_text().split("## Cells: time and machine", 1)[1]
    assert f"| {results['cells'][0]['name']} |" in md and "| all cells |" in md
    assert f"{results['machines'][0]['cpus']} CPUs" in md


def test_zero_baselines_reach_the_report_as_undefined(finished):
    out, _, _ = finished
    results = load_results(out / "results.json")
    # a random tiny model never wins: every baseline is zero, so no relative change exists
    assert all(results["baseline"]["eval"][d]["success"] == 0 for d in results["domains"])
    md = (out / "report.md").read_text()
    assert "relative change undefined (zero baseline)" in md
    assert "inf" not in md.replace("information", "").replace("info", "")
    assert (out / "report.html").stat().st_size > 0


def test_rerun_recomputes_only_what_is_missing(finished):
    out, cfg, _ = finished
    lost = "eval-sokoban-nothink-seed0-step2-webshop"
    (out / "cells" / f"{lost}.json").unlink()
    (out / "results.json").unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "cells").iterdir()}
    log = Log()
    run_study(cfg, out, log=log)
    assert log.computed() == [lost]
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cells").iterdir() if p.name in kept} == kept
    assert load_results(out / "results.json")["runs"][0]["eval"]["webshop"]["episodes"] == 4


def test_cells_without_their_checkpoints_say_how_to_retrain(finished, tmp_path):
    # a study's cells carried to a new machine (committed), its checkpoints left behind
    out, cfg, _ = finished
    shutil.copytree(out / "cells", tmp_path / "cells")
    (tmp_path / "cells" / "eval-sokoban-nothink-seed0-step2-webshop.json").unlink()
    gone = "step-000002 is gone: delete the cells train-sokoban-nothink-seed0 and eval-sokoban-nothink-seed0-"
    with pytest.raises(RuntimeError, match=gone):
        run_study(cfg, tmp_path, log=Log())


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists() or not hasattr(ctypes.CDLL(None), "malloc_trim"),
                    reason="glibc on Linux")
def test_a_cell_gives_back_the_memory_it_freed(tmp_path):
    # what a training cell leaves: freed blocks between live ones, which glibc keeps (a study that
    # had trained held 14.2 GB while evaluating, 2.6 GB after a malloc_trim)
    def compute() -> dict:
        torch.ones(1 << 22)  # 16 MB, freed at once: glibc then serves 1 MB blocks from its heap, not mmap
        pairs = [(torch.ones(1 << 18), torch.ones(1 << 18)) for _ in range(400)]  # 2 x 1 MB
        assert _rss_mb() > before + 700
        kept.extend(second for _, second in pairs)  # the first of each pair is freed: 400 MB in holes
        return {}

    kept: list = []
    before = _rss_mb()
    Cells(tmp_path, log=lambda line: None).get("fragmenting", compute)
    assert _rss_mb() < before + 400 + 100


def test_mean_over_checkpoints_by_hand():
    a = {"success": 0.5, "mean_return": 4.9, "mean_length": 1.0, "invalid_action_rate": 0.25, "episodes": 4}
    b = {"success": 0.25, "mean_return": 2.4, "mean_length": 2.0, "invalid_action_rate": 0.5, "episodes": 4}
    assert mean_summary([a, b]) == pytest.approx({"success": 0.375, "mean_return": 3.65, "mean_length": 1.5,
                                                  "invalid_action_rate": 0.375, "episodes": 8})
    assert mean_summary([a]) == a


def learning_study(model, **changes) -> StudyConfig:
    """One Sokoban run whose groups differ in return (scripted policy, 2 x 4 rollouts per step)."""
    config = tiny_study(model, **{"eval_domains": ["sokoban"], "variants": [{"think": False}], "last_k": 1,
                                  **changes})
    config["train"].update(instances_per_step=2, group_size=4, max_env_steps={"sokoban": 2}, lr=1e-3)
    return StudyConfig.from_dict(config)


def train_rows(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in rows]


def test_a_cut_training_run_resumes_from_its_checkpoint(tmp_path, tiny_model, scripted):
    cfg = learning_study(tiny_model)
    (run,) = plan_runs(cfg)
    whole = run_study(cfg, tmp_path / "whole", log=Log())
    cut = tmp_path / "cut"
    run_dir = cut / "runs" / run.id / "train"
    # the study was killed during training, after step 1 was saved
    train(cfg.run_config(run.train_domain, run.variant, run.seed, cfg.model, run_dir), stop_after=1)
    first = list_checkpoints(run_dir)[0]
    before = (first / "model.safetensors").stat().st_mtime_ns
    log = Log()
    run_study(cfg, cut, log=log)
    assert [line.split()[2] for line in log if line.strip().startswith("train step")] == ["2"]
    assert (first / "model.safetensors").stat().st_mtime_ns == before
    # the resumed run is the uninterrupted one: same steps, same numbers, same weights
    whole_dir = whole / "runs" / run.id / "train"
    rows = train_rows(run_dir)
    assert [r["step"] for r in rows] == [1, 2] and rows == train_rows(whole_dir)
    assert all(r["grad_norm"] > 0 and r["zero_variance_groups"] < 1 for r in rows)
    a = load_file(str(list_checkpoints(whole_dir)[-1] / "model.safetensors"))
    b = load_file(str(list_checkpoints(run_dir)[-1] / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    results = load_results(cut / "results.json")
    # its time is the second sitting's only, and the cell and the report say so
    assert [c["resumed_from_step"] for c in results["cells"] if c["name"].startswith("train-")] == [1]
    build_report(cut)
    assert f"| train-{run.id} (resumed at step 1) |" in (cut / "report.md").read_text()
    assert results["runs"][0]["checkpoints"] == [2]
    assert results["runs"][0]["curve"] == load_results(whole / "results.json")["runs"][0]["curve"]
    # the checkpoint's evaluation played the scripted policy: it won some episodes, the start none
    assert results["runs"][0]["eval"]["sokoban"]["success"] > 0
    assert results["baseline"]["eval"]["sokoban"]["success"] == 0


def test_an_augmented_variant_trains_on_distractors_and_is_evaluated_without(tmp_path, tiny_model, scripted):
    cfg = learning_study(tiny_model, variants=[{"think": False, "augment": True}], augment={"eps": 30})
    out = run_study(cfg, tmp_path, log=Log())
    results = load_results(out / "results.json")
    (run,) = results["runs"]
    assert run["id"] == "sokoban-aug-nothink-seed0" and run["variant"]["augment"] is True
    assert cell(out, f"train-{run['id']}")["config"]["augment_eps"] == 30.0
    training, evaluation = scripted  # the training run's policy, then the checkpoint's
    assert training.prompts and evaluation.prompts

    def extra_lines(prompt):  # lines of the current observation that place nothing in the room
        return sum(not CELL.match(line) for line in board_block(prompt).splitlines())

    # every training observation carries distractor lines; the evaluation's are plain
    assert min(map(extra_lines, training.prompts)) > max(map(extra_lines, evaluation.prompts))
    assert [p.name for p in list_checkpoints(out / "runs" / run["id"] / "train")] == ["step-000001",
                                                                                      "step-000002"]


@pytest.mark.parametrize("change, message", [
    ({"eval_domains": ["sokoban", "chess"]}, "eval_domains: unknown domain 'chess'"),
    ({"train_domains": ["webshop"], "eval_domains": ["sokoban"]}, "train_domains: 'webshop' must also be"),
    ({"variants": [{"think": False}, {"think": False, "name": "again"}]}, "variants[1]: has the same"),
    ({"variants": [{"thinking": True}]}, "variants[0].thinking: unknown field"),
    ({"variants": [{"train": {"lr": -1}}]}, "variants[think].train.lr: must be >= 0.0"),
    ({"train": {"group_size": 1}}, "train.group_size: must be >= 2"),
    ({"train": {"think": True}}, "train.think: is set by the study"),
    ({"train": {"advantage": "gigpo"}}, "train.advantage: is set by the study"),
    ({"variants": [{"advantage": "ppo"}]}, "variants[0].advantage: must be one of grpo, gigpo"),
    ({"eval": {"episodes": 0}}, "eval.episodes: must be >= 1"),
    ({"eval": {"epsiodes": 3}}, "eval.epsiodes: unknown field"),
    ({"augment": {"eps": {"webshop": 30}}}, "augment.eps.sokoban: missing"),
    ({"last_k": "all"}, "last_k: expected an integer"),
    ({"seeds": []}, "seeds: expected a non-empty list"),
    ({"profile": {"policy": "oracle"}}, "profile.policy: must be one of random, expert, start"),
    ({"eval": {"prompt_style": "fancy"}}, "eval.prompt_style: must be one of paper, compact"),
    ({"train": {"prompt_style": "fancy"}}, "train.prompt_style: must be one of"),
    ({"colour": "blue"}, "colour: unknown field"),
])
def test_bad_config_names_the_field(change, message):
    with pytest.raises(ConfigError) as e:
        StudyConfig.from_dict(tiny_study("default", **change))
    assert str(e.value).startswith(message), str(e.value)


def test_the_shipped_configs_are_valid():
    demo = StudyConfig.load("configs/demo.yaml")  # its start: tests/test_committed_start.py
    assert demo.eval_domains == ["sokoban", "alfworld"] and demo.train_domains == ["sokoban"]
    paper = StudyConfig.load("configs/paper.yaml")  # its starts: tests/test_study_starts.py
    assert paper.model == "meta-llama/Llama-3.1-8B-Instruct" and paper.train["steps"] == 150
    assert len(paper.train_domains) == 4 and paper.last_k == 4 and len(paper.seeds) == 3
    assert {(v.augment, v.think, v.sft) for v in paper.variants} == {
        (False, True, False), (True, True, False), (False, False, False)}
    run = paper.run_config("alfworld", paper.variants[1], 2, paper.model, "x", paper.starts[1].augment)
    assert run.augment_eps == 200 and run.think and run.seed == 2 and run.domains == {"alfworld": 1.0}


def test_cli_bad_config_exits_2_with_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"eval": {"episodes": -1}}))
    out = CliRunner().invoke(app, ["study", str(bad), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and "eval.episodes: must be >= 1" in out.output
    assert not (tmp_path / "o").exists()  # nothing ran
