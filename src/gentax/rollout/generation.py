"""Generation backends: one small interface, `generate(prompts, sampling) -> [Generation]`.

`TransformersGenerator` (default, CPU or one GPU) runs its own decoding loop over a left-padded
batch with a KV cache written in place: one forward per new token for the whole batch, finished
rows dropped from the batch, stops at `</action>` or EOS. It returns the sampled tokens and their
log-probabilities under the distribution they were drawn from (logits / temperature; greedy
uses temperature 1), which is what the GRPO trainer's importance ratio needs. Its speed against
`model.generate`: bench/decode_speed.py and docs/training.md ("Decoding speed").
`VLLMGenerator` (extra `[gpu]`) lives in `gentax.rollout.vllm_backend`; the types both share
(`Sampling`, `Generation`, the `Generator` protocol) in `gentax.rollout.sampling`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from gentax.agents.models import LoadedModel
from gentax.rollout.sampling import STOP, Generation, Sampling

__all__ = ["STOP", "Generation", "Sampling", "TransformersGenerator", "make_generator"]

class TransformersGenerator:
    """Batched generation with plain transformers (see the module docstring)."""

    def __init__(self, loaded: LoadedModel, batch_size: int = 64):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.batch_size = batch_size
        self._enders: dict[tuple[str, ...], frozenset[int]] = {}
        self.tokens_generated = 0  # new tokens so far, all calls together (progress lines read it)

    def render(self, messages: list[dict[str, str]]) -> str:
        """A chat as the model's input text (its chat template, ready for the assistant turn)."""
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def autocast(self):
        import torch

        if self.loaded.autocast_bf16:
            return torch.autocast(self.loaded.device, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def generate(self, prompts: Sequence[str], sampling: Sampling = Sampling()) -> list[Generation]:
        """Answer every prompt (rendered text). Prompts of similar length share a batch, so
        little compute goes to padding; the answers come back in the prompts' order."""
        import torch

        rng = None
        if sampling.seed is not None:
            rng = torch.Generator(device=self.loaded.device).manual_seed(sampling.seed)
        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            answers = self._generate_batch([encoded[i] for i in chunk], sampling, rng)
            for i, gen in zip(chunk, answers, strict=True):
                results[i] = gen
        return results  # type: ignore[return-value]

    def _stop_enders(self, stops: tuple[str, ...]) -> frozenset[int]:
        """Ids of the tokens whose text holds the last character of a stop string: only after one
        of them can the answer end with that string, so only then is the tail decoded."""
        if stops not in self._enders:
            last = {s[-1] for s in stops if s}
            texts = self.tokenizer.batch_decode([[i] for i in range(len(self.tokenizer))])
            self._enders[stops] = frozenset(i for i, t in enumerate(texts) if any(c in t for c in last))
        return self._enders[stops]

    def _generate_batch(self, prompt_ids: list[list[int]], sampling: Sampling, rng) -> list[Generation]:
        import torch

        model, tok, device = self.loaded.model, self.tokenizer, self.loaded.device
        width = max(len(p) for p in prompt_ids)
        pad = tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompt_ids], device=device)
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompt_ids], device=device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        cache = _preallocated_cache(model, capacity=width + sampling.max_new_tokens)
        cache_arg = _cache_argument(model)
        eos = set(_eos_ids(tok, model))
        stop_window = max(len(tok(s, add_special_tokens=False)["input_ids"]) for s in sampling.stop) + 2
        enders = self._stop_enders(sampling.stop)
        tokens: list[list[int]] = [[] for _ in prompt_ids]
        logprobs: list[list[float]] = [[] for _ in prompt_ids]
        finish = ["length"] * len(prompt_ids)
        live = list(range(len(prompt_ids)))  # rows of the original batch still generating
        step_ids = input_ids
        with torch.inference_mode(), self.autocast():
            for _ in range(sampling.max_new_tokens):
                out = model(input_ids=step_ids, attention_mask=attention, position_ids=positions,
                            use_cache=True, logits_to_keep=1, **{cache_arg: cache})
                logits = out.logits[:, -1, :].float()
                if sampling.temperature > 0:
                    logp = torch.log_softmax(logits / sampling.temperature, dim=-1)
                    next_ids = torch.multinomial(logp.exp(), 1, generator=rng).squeeze(1)
                else:
                    logp = torch.log_softmax(logits, dim=-1)
                    next_ids = logits.argmax(dim=-1)
                chosen = logp.gather(1, next_ids[:, None]).squeeze(1)
                next_list, chosen_list = next_ids.tolist(), chosen.tolist()
                keep = []
                for j, row in enumerate(live):
                    tokens[row].append(next_list[j])
                    logprobs[row].append(chosen_list[j])
                    if next_list[j] in eos:
                        finish[row] = "eos"
                    elif next_list[j] in enders and any(
                            s in tok.decode(tokens[row][-stop_window:]) for s in sampling.stop):
                        finish[row] = "stop"
                    else:
                        keep.append(j)
                self.tokens_generated += len(live)
                if not keep:
                    break
                if len(keep) < len(live):  # drop finished rows: later steps only pay for live ones
                    index = torch.tensor(keep, device=device)
                    cache.batch_select_indices(index)
                    attention, positions, next_ids = attention[index], positions[index], next_ids[index]
                    live = [live[j] for j in keep]
                step_ids = next_ids[:, None]
                attention = torch.cat([attention, attention.new_ones(len(live), 1)], dim=1)
                positions = positions[:, -1:] + 1
        return [
            Generation(text=tok.decode(tokens[r], skip_special_tokens=True), token_ids=tokens[r],
                       logprobs=logprobs[r], prompt_token_ids=list(prompt_ids[r]), finish_reason=finish[r])
            for r in range(len(prompt_ids))
        ]


def _preallocated_cache(model, capacity: int):
    """A KV cache whose full-attention layers write in place into buffers sized for the prompt and
    the whole answer; attention reads only the filled part. transformers' DynamicLayer
    concatenates instead, copying the whole cache at every token (measured on an idle 2-core CPU:
    within noise at batch 4, ~8% faster decoding steps at batch 64; docs/training.md, "Decoding
    speed"). Other layer kinds (sliding windows) keep their own class."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    class InPlaceLayer(DynamicLayer):
        def lazy_initialization(self, key_states, value_states) -> None:
            super().lazy_initialization(key_states, value_states)
            batch, heads, _, _ = key_states.shape
            self.key_buffer = key_states.new_empty(batch, heads, capacity, key_states.shape[-1])
            self.value_buffer = value_states.new_empty(batch, heads, capacity, value_states.shape[-1])
            self.length = 0

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            start, self.length = self.length, self.length + key_states.shape[-2]
            self.key_buffer[:, :, start : self.length] = key_states
            self.value_buffer[:, :, start : self.length] = value_states
            self.keys = self.key_buffer[:, :, : self.length]
            self.values = self.value_buffer[:, :, : self.length]
            return self.keys, self.values

        def batch_select_indices(self, indices) -> None:
            if self.is_initialized:
                self.key_buffer, self.value_buffer = self.key_buffer[indices], self.value_buffer[indices]
                self.keys = self.key_buffer[:, :, : self.length]
                self.values = self.value_buffer[:, :, : self.length]

    cache = DynamicCache(config=model.config)
    cache.layers = [InPlaceLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


def _cache_argument(model) -> str:
    """Newer transformers call the KV cache argument `cache` (`past_key_values` is deprecated)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _eos_ids(tokenizer, model) -> list[int]:
    ids = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids = ids if isinstance(ids, list) else [ids]
    return [i for i in [*ids, tokenizer.eos_token_id] if i is not None]


def make_generator(backend: str, loaded_or_name, batch_size: int = 64, **kwargs):
    """`transformers` (takes a LoadedModel) or `vllm` (takes a model name or path)."""
    if backend == "transformers":
        return TransformersGenerator(loaded_or_name, batch_size=batch_size)
    if backend == "vllm":
        from gentax.rollout.vllm_backend import VLLMGenerator

        return VLLMGenerator(loaded_or_name, **kwargs)
    raise ValueError(f"unknown backend {backend!r}; choose transformers or vllm")
