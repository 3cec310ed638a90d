"""vLLM generation backend for GPUs (extra `[gpu]`): same interface as TransformersGenerator.

Importing this module never needs vLLM or a GPU; building a `VLLMGenerator` checks both and
says exactly what is missing."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from gentax.rollout.sampling import Generation, Sampling


def vllm_problems() -> list[str]:
    """Why vLLM cannot start on this machine (empty when it can)."""
    out = []
    if importlib.util.find_spec("vllm") is None:
        out.append("the vllm package is not installed: pip install -e '.[gpu]'")
    try:
        import torch

        if not torch.cuda.is_available():
            out.append("torch sees no CUDA GPU (vLLM needs one; use --backend transformers on CPU)")
    except ImportError:
        out.append("torch is not installed")
    return out


class VLLMGenerator:
    """Generation with vLLM. `model` is a local directory or hub id (for the embedded default,
    pass the directory `gentax.agents.models` caches it to)."""

    def __init__(self, model: str, dtype: str = "auto", gpu_memory_utilization: float = 0.85,
                 max_model_len: int | None = None, seed: int = 0, engine=None):
        """`engine`: an already built `vllm.LLM` (or an object with its `generate` and
        `get_tokenizer`); by default one is built from the arguments."""
        if engine is None:
            from gentax.agents.models import adapter_base

            if adapter_base(model) is not None:
                raise RuntimeError(f"the vLLM backend cannot take the LoRA adapter folder {model}: use "
                                   "--backend transformers, which merges the adapter into its base model")
            problems = vllm_problems()
            if problems:
                raise RuntimeError("the vLLM backend cannot start: " + "; ".join(problems))
            from vllm import LLM

            # processed_logprobs: log-probs of the distribution actually sampled from (after
            # temperature), the same convention as TransformersGenerator.
            engine = LLM(model=model, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                         max_model_len=max_model_len, seed=seed, logprobs_mode="processed_logprobs")
        self.llm = engine
        self.tokenizer = self.llm.get_tokenizer()

    def render(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: Sequence[str], sampling: Sampling = Sampling()) -> list[Generation]:
        """Answer every prompt (rendered text). Prompts go in as token ids, tokenized as the
        transformers backend does (no special tokens added: the chat template has its BOS, a
        second one would change the prompt). Request i gets seed `sampling.seed + i`: one seed
        for all would give identical samples for a group's identical prompts."""
        from vllm import SamplingParams

        params = [SamplingParams(temperature=sampling.temperature, max_tokens=sampling.max_new_tokens,
                                 stop=list(sampling.stop), include_stop_str_in_output=True, logprobs=0,
                                 seed=None if sampling.seed is None else sampling.seed + i)
                  for i in range(len(prompts))]
        requests = [{"prompt_token_ids": self.tokenizer(p, add_special_tokens=False)["input_ids"]}
                    for p in prompts]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        results = []
        for out in outputs:
            completion = out.outputs[0]
            ids = list(completion.token_ids)
            steps = completion.logprobs or []
            logprobs = [step[token].logprob for step, token in zip(steps, ids, strict=False)]
            reason = {"stop": "stop", "length": "length"}.get(completion.finish_reason or "", "eos")
            if reason == "stop" and completion.stop_reason is None:
                reason = "eos"
            results.append(Generation(text=completion.text, token_ids=ids, logprobs=logprobs,
                                      prompt_token_ids=list(out.prompt_token_ids or []),
                                      finish_reason=reason))
        return results
