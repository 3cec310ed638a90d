"""Peak resident memory and tokens/s of `gentax sft` on WebShop- and ScienceWorld-length pairs.

Each case runs `gentax.train.sft.sft` in a child process on the default model (SmolLM2-135M)
and reports the child's peak resident set size as the kernel counts it (`getrusage`'s
ru_maxrss: the figure `/usr/bin/time -v` prints as "Maximum resident set size"). A child is given an
address-space limit (`--limit-gb`, default 14) so that a configuration that does not fit fails
with an allocation error instead of waking the kernel's OOM killer on a shared machine.

The pairs are synthetic token sequences of the lengths the real prompts have (the chat-rendered
prompt and the answer are what SFT sees; their text does not change memory or speed):
  webshop   prompts 220-1,840 tokens (measured on `gentax collect webshop --episodes 100
            --no-think`: 492 pairs, median 935, max 1,836), answers 12 tokens
  sciworld  prompts 1,000-2,048 tokens (the paper's ScienceWorld prompt cap 2,048), answers 24
  long      prompts 3,600-4,096 tokens (the paper's largest prompt cap), answers 64
or, with `--data FILE`, the pairs of a `gentax collect` file. Every pair is used exactly once
(`batch_size x steps` pairs), so tokens/s = all prompt + answer tokens / the steps' seconds.

Run: `python bench/sft_memory.py --case webshop --steps 3 --batch-size 8 [--micro-batch-size 8]`
(prints one JSON line per case).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile

from gentax.train.provenance import machine

CASES = {"webshop": (220, 1840, 12), "sciworld": (1000, 2048, 24), "long": (3600, 4096, 64)}
WORDS = ("the of and a to in is you that it he was for on are as with his they at be this have from "
         "or one had by word but not what all were we when your can said there use an each which she "
         "do how their if will up other about out many then them these so some her would make like").split()


def synthetic_rows(case: str, n: int, tokenizer, seed: int = 0) -> list[dict]:
    """`n` pairs whose chat-rendered prompt and answer have the case's token lengths."""
    from gentax.agents.prompt import chat_messages

    lo, hi, answer_len = CASES[case]
    rng = random.Random(seed)
    overhead = len(tokenizer(tokenizer.apply_chat_template(chat_messages(""), tokenize=False,
                                                           add_generation_prompt=True),
                             add_special_tokens=False)["input_ids"])
    rows = []
    for _ in range(n):
        length = rng.randint(lo, hi) - overhead
        text = " ".join(rng.choice(WORDS) for _ in range(length))
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        answer = tokenizer.decode(tokenizer(" ".join(rng.choice(WORDS) for _ in range(answer_len)),
                                            add_special_tokens=False)["input_ids"][: answer_len - 5])
        rows.append({"prompt": tokenizer.decode(ids[:length]), "response": f"<action>{answer}</action>"})
    return rows


def child(args: argparse.Namespace) -> None:
    import time

    from gentax.agents.models import load_model
    from gentax.agents.prompt import chat_messages
    from gentax.train.sft import SFTConfig, sft

    tok = load_model("default").tokenizer
    n = args.batch_size * args.steps
    if args.data:
        rows = [json.loads(line) for line in open(args.data) if line.strip()]
        rows = random.Random(0).sample(rows, n)
    else:
        rows = synthetic_rows(args.case[-1], n, tok)
    render = lambda r: tok.apply_chat_template(chat_messages(r["prompt"]), tokenize=False,  # noqa: E731
                                               add_generation_prompt=True)
    count = lambda text: len(tok(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    tokens = sum(count(render(r)) + count(r["response"] + tok.eos_token) for r in rows)
    extra = {"micro_batch_size": args.micro_batch_size} if args.micro_batch_size else {}
    extra.update({k: v for k, v in (("micro_batch_tokens", args.micro_batch_tokens),
                                    ("gradient_checkpointing", args.gradient_checkpointing)) if v})
    cfg = SFTConfig(model="default", batch_size=args.batch_size, steps=args.steps, **extra)
    seconds = []
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        sft(rows, out, cfg, log=lambda r: seconds.append(r["seconds"]))
        total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"peak_rss_gb": round(peak, 2), "tokens": tokens,
                      "step_seconds": [round(s, 1) for s in seconds],
                      "tokens_per_s": tokens / sum(seconds), "wall_s": total}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--data", help="a `gentax collect` JSONL file instead of synthetic pairs")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--micro-batch-size", type=int, default=0, help="0: SFTConfig's default")
    parser.add_argument("--micro-batch-tokens", type=int, default=0, help="0: SFTConfig's default")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--limit-gb", type=float, default=14.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    limit = int(args.limit_gb * 2**30)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    flags = machine()["cpu_flags"]
    for case in (["data"] if args.data else args.case or ["webshop"]):
        argv = [a for a in sys.argv[1:] if not a.startswith("--case") and a not in CASES]
        proc = subprocess.run(
            [sys.executable, __file__, "--child", *argv, *([] if args.data else ["--case", case])],
            capture_output=True, text=True, env=os.environ,
            preexec_fn=limit_memory)
        result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {
            "error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
        print(json.dumps({"case": args.data or case, "batch_size": args.batch_size,
                          "micro_batch_size": args.micro_batch_size or "default",
                          "micro_batch_tokens": args.micro_batch_tokens or "default",
                          "gradient_checkpointing": args.gradient_checkpointing,
                          **result,
                          "cpu_flags": " ".join(flags)}), flush=True)


if __name__ == "__main__":
    main()
