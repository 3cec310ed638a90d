"""LoRA SFT writes a small adapter folder with its provenance, and that folder is a model name
like any other: it loads (merged into its base) wherever a model is loaded, on any machine
where its base name loads, and a folder whose base cannot load says so in one line.

"default" here is the tests' tiny model: GENTAX_CACHE points at a folder where the tiny model
stands in for the de-quantised default, so the adapter's base is the name "default", as it is
for a user's adapter, and a second cache at another path plays the other machine."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from typer.testing import CliRunner

from gentax.agents import models
from gentax.agents.models import DEFAULT_MODEL, load_for_training, load_model, load_tokenizer
from gentax.cli import app
from gentax.rollout.generation import TransformersGenerator
from gentax.rollout.sampling import Sampling
from gentax.train.collect import collect
from gentax.train.provenance import file_sha256


def install_as_default(model_dir: str, cache) -> None:
    """Make `model_dir` the weights that "default" loads under GENTAX_CACHE=`cache`."""
    shutil.copytree(model_dir, cache / "models" / models.default_gguf_path().stem)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs") / "sokoban.jsonl"
    collect("sokoban", 3, path, seed=5, env_kwargs={"max_solution_steps": 2})
    return path


@pytest.fixture(scope="module")
def machine(tiny_model, tmp_path_factory):
    """A GENTAX_CACHE whose "default" is the tiny model (set for the module's tests)."""
    cache = tmp_path_factory.mktemp("cache-a")
    install_as_default(tiny_model, cache)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENTAX_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="module")
def adapter(machine, pairs, tmp_path_factory):
    """`gentax sft --lora` from "default" on the Sokoban expert's pairs; returns (folder, log)."""
    out = tmp_path_factory.mktemp("sft") / "adapter"
    result = CliRunner().invoke(app, ["sft", "--data", f"{pairs}:1", "--out", str(out), "--lora",
                                      "--lora-rank", "4", "--lora-alpha", "8", "--steps", "4",
                                      "--batch-size", "4", "--lr", "3e-2", "--warmup-ratio", "0"])
    assert result.exit_code == 0, result.output
    return out, result.output


def prompt_ids(tokenizer) -> torch.Tensor:
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Push the box onto the target."}],
                                         tokenize=False, add_generation_prompt=True)
    return torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])


def logits_of(model, ids) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_lora_sft_writes_only_a_small_fp16_adapter_with_its_provenance(adapter, pairs, tiny_model):
    folder, output = adapter
    assert "Adapter saved to" in output
    losses = [float(line.split("loss ")[1].split()[0]) for line in output.splitlines() if "sft step" in line]
    assert len(losses) == 4 and losses[-1] < losses[0]  # the adapter learns
    assert sorted(p.name for p in folder.iterdir()) == ["adapter_config.json", "adapter_model.safetensors",
                                                        "provenance.json"]
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == DEFAULT_MODEL  # the name, not this machine's cache path
    assert (config["r"], config["lora_alpha"]) == (4, 8)
    with safe_open(str(folder / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert keys and all("lora_" in k for k in keys)
        assert {f.get_tensor(k).dtype for k in keys} == {torch.float16}
    base_bytes = sum(p.stat().st_size for p in Path(tiny_model).glob("*.safetensors"))
    assert (folder / "adapter_model.safetensors").stat().st_size < base_bytes / 10
    record = json.loads((folder / "provenance.json").read_text())
    rows = [json.loads(line) for line in pairs.read_text().splitlines()]
    assert record["files"] == [{"path": str(pairs), "weight": 1.0, "sha256": file_sha256(pairs),
                                "pairs": len(rows)}]
    assert record["data"]["pairs"] == len(rows) == record["pairs_within_max_tokens"]
    assert record["config"]["lora"] is True and record["config"]["model"] == DEFAULT_MODEL
    assert record["command"].startswith(f"gentax sft --data {pairs}:1 --out {folder} --model default")
    assert "--lora --lora-rank 4 --lora-alpha 8" in record["command"]
    assert len(record["git_commit"] or "0" * 40) == 40 and record["gentax_version"]


@pytest.fixture(scope="module")
def merged(adapter):
    """The adapter folder loaded as `gentax train` loads its starting model."""
    return load_for_training(str(adapter[0]))


def test_adapter_folder_loads_as_its_base_with_the_adapter_merged(adapter, merged, machine):
    from peft import PeftModel

    folder = str(adapter[0])
    assert type(merged.model).__name__ == "LlamaForCausalLM" and merged.name == folder
    assert not any("lora" in k for k in merged.model.state_dict())
    # RL starts from it as from any model: every weight trainable
    assert all(p.requires_grad for p in merged.model.parameters())
    base = load_model(DEFAULT_MODEL, dtype="float32")
    ids = prompt_ids(merged.tokenizer)
    before = logits_of(base.model, ids)
    unmerged = PeftModel.from_pretrained(base.model, folder).eval()  # wraps base.model in place
    after = logits_of(merged.model.eval(), ids)
    assert (after - before).abs().max() > 0.1  # the adapter changes the model
    torch.testing.assert_close(after, logits_of(unmerged, ids), rtol=1e-4, atol=1e-4)
    assert load_tokenizer(folder).get_vocab() == merged.tokenizer.get_vocab()


def test_adapter_folder_loads_on_another_machine_where_its_base_name_loads(adapter, merged, tiny_model,
                                                                          tmp_path, monkeypatch):
    folder = tmp_path / "copied-adapter"
    shutil.copytree(adapter[0], folder)
    elsewhere = tmp_path / "other-cache"
    install_as_default(tiny_model, elsewhere)
    monkeypatch.setenv("GENTAX_CACHE", str(elsewhere))
    there = load_model(str(folder), dtype="float32")
    ids = prompt_ids(there.tokenizer)
    torch.testing.assert_close(logits_of(there.model, ids), logits_of(merged.model.eval(), ids))
    generation = TransformersGenerator(there).generate([there.tokenizer.decode(ids[0])],
                                                      Sampling(max_new_tokens=4, temperature=0.0))
    assert len(generation[0].token_ids) == 4 or generation[0].finish_reason == "eos"


def test_eval_takes_the_adapter_folder_as_model_and_vllm_refuses_it(adapter, tmp_path):
    folder = str(adapter[0])
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--model", folder, "--domains", "sokoban", "--episodes", "1",
                                 "--max-steps", "2", "--max-new-tokens", "8", "--json",
                                 "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["config"]["model"] == folder and "success" in summary["domains"]["sokoban"]
    assert len((tmp_path / "eval" / "sokoban.jsonl").read_text().splitlines()) == 1  # its one episode
    result = runner.invoke(app, ["eval", "--model", folder, "--backend", "vllm", "--domains", "sokoban"])
    assert result.exit_code == 2
    assert "vLLM backend cannot take the LoRA adapter folder" in result.output
    assert "--backend transformers" in result.output


def test_an_adapter_whose_base_cannot_load_is_one_clear_line(adapter, tmp_path):
    folder = tmp_path / "orphan"
    shutil.copytree(adapter[0], folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    missing = tmp_path / "no-such-model"
    (folder / "adapter_config.json").write_text(json.dumps({**config,
                                                            "base_model_name_or_path": str(missing)}))
    for load in (load_model, load_tokenizer):
        with pytest.raises(RuntimeError) as info:
            load(str(folder))
        message = str(info.value)
        assert "\n" not in message
        assert message == (f"adapter {folder}: its base model '{missing}' (base_model_name_or_path in "
                           "adapter_config.json) is not on this machine")
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path":
                                                            str(not_a_model)}))
    for load in (load_model, load_tokenizer):
        with pytest.raises(RuntimeError) as info:
            load(str(folder))
        assert "\n" not in str(info.value)
        assert str(info.value).startswith(f"adapter {folder}: cannot load its base model '{not_a_model}'")
    del config["base_model_name_or_path"]
    (folder / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="adapter_config.json names no base_model_name_or_path"):
        load_model(str(folder))
