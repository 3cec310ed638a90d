"""Training over two processes: `accelerate launch --multi_gpu --num_processes 2` on this CPU
(gloo), running tests/multiproc_run.py. The update over two processes must be the update one
process takes on the same batch; a tiny GRPO run must end, save a checkpoint that loads in one
process, and resume to the same end; both processes must play episodes and keep equal weights.

(`accelerate launch --cpu --num_processes 2` starts one process only, without MPI: accelerate's
CPU launcher runs several only through mpirun, so the test launches as docs/training.md says.)"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from multiproc_run import digest, update_case
from safetensors.torch import load_file
from test_train import assert_learning_signal, metrics

from gentax.agents.models import load_for_training
from gentax.train.checkpoint import list_checkpoints, load_checkpoint
from gentax.train.distributed import refuse_untested

ENTRY = Path(__file__).parent / "multiproc_run.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def launched(tmp_path_factory, tiny_model):
    out = tmp_path_factory.mktemp("multiproc")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(free_port()), str(ENTRY), tiny_model, str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # two CPU processes even where a GPU is
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    ranks = [json.loads((out / f"rank-{r}.json").read_text()) for r in range(2)]
    assert [(r["rank"], r["size"]) for r in ranks] == [(0, 2), (1, 2)]
    return out, ranks


@pytest.mark.slow
def test_two_processes_take_the_update_one_process_takes(launched):
    out, ranks = launched
    assert ranks[0]["update"] == ranks[1]["update"]  # the replicas stayed equal
    two = torch.load(out / "update.pt")
    model, before, stats = update_case()  # the same batch, in this one process
    one = model.state_dict()
    moved = max(float((one[k] - before[k]).abs().max()) for k in one)
    apart = max(float((two["weights"][k] - one[k]).abs().max()) for k in one)
    # a per-rank token mean, a gradient averaged instead of summed, or a rank's gradients left
    # out would each move the weights differently by a large part of the update
    assert moved > 1e-2 and apart < 1e-4 * moved, (moved, apart)
    one_stats = stats.__dict__
    assert one_stats["optimizer_steps"] == two["stats"]["optimizer_steps"] == 6
    assert one_stats["tokens"] == two["stats"]["tokens"]
    assert one_stats["clip_fraction"] > 0  # the later mini-batches clip: the ratio is in play
    for key in ("loss", "policy_loss", "kl", "clip_fraction", "ratio_mean", "ratio_max", "entropy",
                "grad_norm"):
        assert two["stats"][key] == pytest.approx(one_stats[key], rel=1e-4, abs=1e-6), key
    assert two["stats"]["first_ratio_max_deviation"] == 0.0


@pytest.mark.slow
def test_two_process_run_ends_saves_and_resumes(launched, tiny_model):
    out, ranks = launched
    whole, resumed = out / "whole", out / "killed"
    rows = metrics(whole)
    assert [r["step"] for r in rows] == [0, 1, 2]  # one line per step: rank 0 alone writes
    # metrics are over both processes' episodes: 2 instances x 4 rollouts, 3 validation episodes
    assert all(r["episodes"] == 8 for r in rows[1:]) and rows[0]["val/sokoban/episodes"] == 3
    assert rows[2]["val/sokoban/episodes"] == 3
    assert_learning_signal(rows[1:])
    assert all(r["optimizer_steps"] >= 2 for r in rows[1:])
    # each process played its share (one instance) and the replicas stayed equal
    assert all(r["whole"]["prompts"] > 0 for r in ranks)
    assert ranks[0]["whole"]["weights"] == ranks[1]["whole"]["weights"]
    assert ranks[0]["resumed"]["weights"] == ranks[1]["resumed"]["weights"]

    # the checkpoint is the whole model, rank 0's weights, and loads in one process
    saved = load_file(str(list_checkpoints(whole)[-1] / "model.safetensors"))
    assert digest(saved) == ranks[0]["whole"]["weights"]
    model = load_for_training(tiny_model).model
    assert saved.keys() == model.state_dict().keys()
    load_checkpoint(list_checkpoints(whole)[-1], model)
    assert digest(model.state_dict()) == ranks[0]["whole"]["weights"]

    # killed after step 1 and resumed with two processes: the same run
    assert [p.name for p in list_checkpoints(resumed)] == ["step-000001", "step-000002"]
    assert metrics(resumed) == rows
    assert ranks[0]["resumed"]["weights"] == ranks[0]["whole"]["weights"]


@pytest.mark.parametrize("kind", ["FSDP", "DEEPSPEED", "MEGATRON_LM", "XLA"])
def test_sharded_and_other_untested_setups_are_refused(kind):
    from accelerate.utils import DistributedType

    with pytest.raises(RuntimeError, match=f"distributed_type {kind} is not supported"):
        refuse_untested(DistributedType[kind], environ={})
    for allowed in ("NO", "MULTI_CPU", "MULTI_GPU"):
        refuse_untested(DistributedType[allowed], environ={})


def test_deepspeed_asked_of_the_launcher_is_refused_on_a_cpu_too():
    from accelerate.utils import DistributedType

    # `accelerate launch --use_deepspeed` where the trainer runs on the CPU: accelerate says MULTI_CPU
    with pytest.raises(RuntimeError, match="distributed_type DEEPSPEED is not supported"):
        refuse_untested(DistributedType.MULTI_CPU, environ={"ACCELERATE_USE_DEEPSPEED": "true"})
    refuse_untested(DistributedType.MULTI_CPU, environ={"ACCELERATE_USE_DEEPSPEED": "false"})
