"""SFT warm-up: expert pairs collected in the RL prompt format, mixed in given ratios, and a
loss that is the plain cross-entropy of the answer tokens (checked by hand on a tiny batch) and
goes down. The `collect` and `sft` commands are run in-process, as `gentax` runs them."""

import hashlib
import json

import pytest
import torch
import torch.nn.functional as F
from scripted import read_sokoban_room
from typer.testing import CliRunner

from gentax.agents.models import load_model
from gentax.agents.prompt import chat_messages
from gentax.cli import app
from gentax.envs import make_env
from gentax.envs.sokoban import solve
from gentax.train.provenance import rows_sha256
from gentax.train.sft import SFTConfig, collect, mix, sft


def answer_cross_entropy(model_path: str, rows: list[dict]) -> float:
    """Mean -log p(answer token | prompt, answer so far) over every answer token of `rows` (the
    answer ends with the end-of-turn token), one unpadded forward per pair."""
    loaded = load_model(model_path, dtype="float32")
    tok, total, count = loaded.tokenizer, 0.0, 0
    for row in rows:
        prompt = tok.apply_chat_template(chat_messages(row["prompt"]), tokenize=False,
                                         add_generation_prompt=True)
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        a = tok(row["response"] + tok.eos_token, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = loaded.model(input_ids=torch.tensor([p + a])).logits[0]
        total += F.cross_entropy(logits[len(p) - 1 : -1], torch.tensor(a), reduction="sum").item()
        count += len(a)
    return total / count


def rows_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    path = tmp_path_factory.mktemp("sft") / "sokoban.jsonl"
    summary = collect("sokoban", 3, path, seed=5, env_kwargs={"max_solution_steps": 2})
    assert summary["success"] == 1.0 and summary["pairs"] == len(rows_of(path)) >= 3
    return path


def test_loss_is_the_answer_tokens_cross_entropy_and_goes_down(pairs, tiny_model, tmp_path):
    rows = rows_of(pairs)[:3]
    logged = []
    cfg = SFTConfig(model=tiny_model, lr=3e-3, batch_size=3, micro_batch_size=2, steps=8, warmup_ratio=0.0)
    out = sft(rows, tmp_path / "model", cfg, log=logged.append)
    before = answer_cross_entropy(tiny_model, rows)
    # step 1's loss is computed with the starting weights on the whole batch (3 pairs, 2 micro-batches)
    assert logged[0]["loss"] == pytest.approx(before, rel=1e-4)
    assert [r["step"] for r in logged] == list(range(1, 9))
    after = answer_cross_entropy(str(out), rows)  # the saved model, read back
    assert after < 0.95 * before and logged[-1]["loss"] < logged[0]["loss"]  # 10.85 -> 10.01 nats here


def test_mix_takes_pairs_in_the_given_ratio_as_far_as_the_files_allow(tmp_path):
    files = []
    for name, n in (("a", 40), ("b", 10), ("c", 5)):
        path = tmp_path / f"{name}.jsonl"
        rows = [json.dumps({"prompt": f"{name}{i}", "response": "r"}) for i in range(n)]
        path.write_text("\n".join(rows) + "\n")
        files.append(path)
    # 19:3:1 (the paper's): a's 40 pairs set the scale (40 / 19 per unit), so b gives
    # int(40 * 3 / 19) = 6 pairs and c int(40 / 19) = 2
    picked = mix([(str(files[0]), 19), (str(files[1]), 3), (str(files[2]), 1)], seed=1)
    counts = {k: sum(r["prompt"].startswith(k) for r in picked) for k in "abc"}
    assert counts == {"a": 40, "b": 6, "c": 2} and len({r["prompt"] for r in picked}) == 48
    assert [r["prompt"] for r in picked] != sorted(r["prompt"] for r in picked)  # shuffled together
    # equal weights: the smallest file sets the scale; one pair at least from each file
    equal = mix([(str(files[0]), 1), (str(files[2]), 1)], seed=1)
    assert sorted(r["prompt"][0] for r in equal) == ["a"] * 5 + ["c"] * 5
    assert len(mix([(str(files[0]), 1), (str(files[2]), 0.01)], seed=1)) == 40 + 1
    with pytest.raises(ValueError, match="weight must be > 0"):
        mix([(str(files[0]), 0)])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ValueError, match="no \\(state, action\\) pairs"):
        mix([(str(files[0]), 1), (str(tmp_path / "empty.jsonl"), 1)])


def test_cli_collects_expert_pairs_and_fine_tunes_on_them(tmp_path, tiny_model):
    data = tmp_path / "pairs.jsonl"
    runner = CliRunner()
    out = runner.invoke(app, ["collect", "sokoban", "--episodes", "2", "--seed", "3", "--no-think",
                              "--history", "0", "--env-arg", "max_solution_steps=2", "--out", str(data)])
    assert out.exit_code == 0, out.output
    rows = rows_of(data)  # the printed summary (rich may wrap its line) names the pairs written
    assert f'"pairs": {len(rows)},' in out.output and '"success": 1.0,' in out.output
    assert len(rows) > 0
    # each answer is the optimal move from its prompt's room; replayed, they win both episodes
    env = make_env("sokoban", max_solution_steps=2)
    for seed in (3, 4):
        env.reset(seed=seed)
        for row in [r for r in rows if r["seed"] == seed]:
            move = row["response"].removeprefix("<action>").removesuffix("</action>")
            assert move == solve(read_sokoban_room(row["prompt"]))[0]
            *_, info = env.step(move)
        assert info["won"]
    out = runner.invoke(app, ["sft", "--data", f"{data}:1", "--model", tiny_model, "--out",
                              str(tmp_path / "model"), "--steps", "2", "--batch-size", "2", "--lr", "1e-3"])
    assert out.exit_code == 0, out.output
    assert f"{len(rows)} (state, action) pairs from 1 file(s)" in out.output
    assert "sft step 2 loss" in out.output
    tuned = load_model(str(tmp_path / "model"), dtype="float32").model.state_dict()
    start = load_model(tiny_model, dtype="float32").model.state_dict()
    assert tuned.keys() == start.keys() and any(not torch.equal(tuned[k], start[k]) for k in start)
    # provenance.json: the data as trained (the mix's rows, in order) and as given (the file)
    record = json.loads((tmp_path / "model" / "provenance.json").read_text())
    assert record["data"]["pairs"] == len(rows) and record["config"]["lora"] is False
    assert record["files"][0]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert record["data"]["sha256"] == rows_sha256(mix([(str(data), 1.0)], seed=0))
    assert record["data"]["sha256"] != rows_sha256(rows[::-1])


def test_a_killed_sft_resumes_to_the_weights_of_an_uncut_run(pairs, tiny_model, tmp_path):
    from safetensors.torch import load_file

    rows = rows_of(pairs)[:3]  # 3 pairs in batches of 2: the resumed step 5 draws a new order
    cfg = SFTConfig(model=tiny_model, lr=3e-3, batch_size=2, steps=6, warmup_ratio=0.3, save_every=4, seed=1)
    uncut = sft(rows, tmp_path / "uncut", cfg)

    def killed_at_step_5(row):
        if row["step"] == 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        sft(rows, tmp_path / "cut", cfg, log=killed_at_step_5)
    assert (tmp_path / "cut.resume").is_dir() and not (tmp_path / "cut").exists()
    with pytest.raises(ValueError, match="other settings or data"):  # a changed SFT starts over, not on
        sft(rows, tmp_path / "cut", SFTConfig(**{**cfg.__dict__, "lr": 1e-3}))
    logged = []
    resumed = sft(rows, tmp_path / "cut", cfg, log=logged.append)
    assert [r["step"] for r in logged] == list(range(1, 7))  # steps 1-4 from the checkpoint, 5-6 run
    a, b = load_file(str(uncut / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not (tmp_path / "cut.resume").exists()  # removed once the model is saved
