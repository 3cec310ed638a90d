"""Batched generation with the real embedded model: same tokens as one-at-a-time greedy decoding,
log-probs that a plain forward pass reproduces, stop strings, and the vLLM backend's refusal; on
the tiny model, the same tokens and log-probs as transformers' own `generate`."""

import pytest
import torch

from gentax.agents.prompt import chat_messages
from gentax.rollout.generation import Sampling, TransformersGenerator

QUESTIONS = ["Name a colour.", "What is two plus two? Explain briefly.",
             "Write one sentence about a cat who lives in an old library full of dusty books."]


def _prompts(generator):
    return [generator.render(chat_messages(q)) for q in QUESTIONS]


def test_chat_template_wraps_each_prompt(generator):
    text = generator.render(chat_messages("Push the box."))
    assert "Push the box." in text and text.rstrip().endswith("assistant")


def test_batched_greedy_equals_one_prompt_at_a_time(generator):
    prompts = _prompts(generator)  # three different lengths: left padding matters
    sampling = Sampling(max_new_tokens=8, temperature=0.0)
    batched = generator.generate(prompts, sampling)
    single = TransformersGenerator(generator.loaded, batch_size=1)
    alone = [single.generate([p], sampling)[0] for p in prompts]
    assert [g.token_ids for g in batched] == [g.token_ids for g in alone]
    assert [g.text for g in batched] == [g.text for g in alone]
    for g in batched:
        assert len(g.token_ids) == len(g.logprobs) and g.token_ids


def test_logprobs_match_a_forward_pass_on_the_same_tokens(generator):
    temperature = 0.7
    sampling = Sampling(max_new_tokens=8, temperature=temperature, seed=3)
    answers = generator.generate(_prompts(generator), sampling)
    model = generator.loaded.model
    for g in answers:
        ids = torch.tensor([g.prompt_token_ids + g.token_ids])
        with torch.inference_mode():
            logits = model(input_ids=ids).logits[0].float()
        n = len(g.prompt_token_ids)
        logp = torch.log_softmax(logits[n - 1 : -1] / temperature, dim=-1)
        expected = logp.gather(1, torch.tensor(g.token_ids)[:, None]).squeeze(1)
        assert torch.allclose(torch.tensor(g.logprobs), expected, atol=2e-3), (g.logprobs, expected.tolist())
        assert all(lp <= 0 for lp in g.logprobs)


def test_greedy_equals_transformers_generate_on_a_padded_batch_where_a_row_ends_early(tiny_model):
    """The decoder's own loop (left padding, KV cache written in place, finished rows dropped from
    the batch) picks the tokens `model.generate` picks, with log-probs of its logits."""
    from gentax.agents.models import load_model

    loaded = load_model(tiny_model, dtype="float32")
    model, tok = loaded.model, loaded.tokenizer
    torch.manual_seed(1)
    with torch.no_grad():  # weights large enough that each answer depends on its prompt
        for weight in model.parameters():
            weight.normal_(0.0, 1.0)
    generator = TransformersGenerator(loaded, batch_size=8)
    prompts = _prompts(generator)  # three different lengths
    tok.padding_side = "left"
    enc = tok(prompts, add_special_tokens=False, return_tensors="pt", padding=True)
    assert len(set(enc["attention_mask"].sum(1).tolist())) == 3

    def theirs():
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id,
                                 output_logits=True, return_dict_in_generate=True)
        ids = out.sequences[:, enc["input_ids"].shape[1]:]
        logp = torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1)
        return ids.tolist(), logp.gather(2, ids[:, :, None]).squeeze(2).tolist()

    ids, _ = theirs()
    assert len({tuple(row) for row in ids}) == 3
    # An end-of-sequence token that only row 0 picks, after a few steps: row 0 ends there, the
    # other rows go on in a smaller batch.
    end = next(k for k in range(2, 10)
               if ids[0][k] not in ids[0][:k] and all(ids[0][k] not in row for row in ids[1:]))
    model.generation_config.eos_token_id = [tok.eos_token_id, ids[0][end]]
    ids, hf_logprobs = theirs()
    ours = generator.generate(prompts, Sampling(max_new_tokens=12, temperature=0.0, stop=("\x00",)))
    assert [g.finish_reason for g in ours] == ["eos", "length", "length"]
    assert [g.token_ids for g in ours] == [ids[0][: end + 1], ids[1], ids[2]]
    for g, expected in zip(ours, hf_logprobs, strict=True):
        assert torch.allclose(torch.tensor(g.logprobs), torch.tensor(expected[: len(g.logprobs)]), atol=1e-4)


def test_sampling_is_reproducible_with_a_seed(generator):
    prompts = _prompts(generator)[:2]
    a = generator.generate(prompts, Sampling(max_new_tokens=8, temperature=1.0, seed=11))
    b = generator.generate(prompts, Sampling(max_new_tokens=8, temperature=1.0, seed=11))
    assert [g.token_ids for g in a] == [g.token_ids for g in b]


def test_generation_stops_right_after_the_stop_string(generator):
    tok = generator.tokenizer
    sampling = Sampling(max_new_tokens=24, temperature=0.0, stop=("e",))
    answers = generator.generate(_prompts(generator), sampling)
    for g in answers:
        assert g.finish_reason == "stop"
        assert "e" in tok.decode(g.token_ids) and "e" not in tok.decode(g.token_ids[:-1])


def test_bad_sampling_values_are_rejected():
    with pytest.raises(ValueError, match="max_new_tokens"):
        Sampling(max_new_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        Sampling(temperature=-1)


def test_vllm_backend_imports_without_vllm_and_says_why_it_cannot_start():
    from gentax.rollout.vllm_backend import VLLMGenerator, vllm_problems

    problems = vllm_problems()
    if not problems:
        pytest.skip("vLLM and a GPU are available here")
    with pytest.raises(RuntimeError, match="vLLM backend cannot start"):
        VLLMGenerator("default")
