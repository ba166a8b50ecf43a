"""The sampler end to end on a tiny random model with a real byte-level BPE tokenizer."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hf_reference import build_hf_model, save_hf_model
from tiny_tokenizer import save_tokenizer

from azr_jax.models import Qwen2ForCausalLM
from azr_jax.sampling import Sampler, SamplerConfig
from azr_jax.sampling.stop_strings import append_and_match, build_stop_table, cut_at_stop, empty_tail, token_bytes

CONFIG = SamplerConfig(prompt_buckets=(16, 32), batch_buckets=(2, 4, 8), max_new_tokens_cap=24, cache_dtype="float32")


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=21, vocab_size=320), folder)
    tokenizer = save_tokenizer(folder)
    return Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32), tokenizer


@pytest.fixture(scope="module")
def sampler(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    return Sampler(model, tokenizer, CONFIG)


PROMPTS = ["User: solve it. Assistant: <think>", "def f(x):", "<answer> 42"]


def test_log_probs_are_the_models_log_softmax_at_the_sampled_tokens(sampler, model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    out = sampler.generate(PROMPTS, key=jax.random.key(1), max_new_tokens=10, temperature=1.0, eos_ids=[])
    for i, prompt in enumerate(PROMPTS):
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        sequence = prompt_ids + out.token_ids[i, : out.lengths[i]].tolist()
        log_softmax = jax.nn.log_softmax(model(jnp.asarray([sequence]))[0])
        expected = [
            float(log_softmax[len(prompt_ids) - 1 + t, tok]) for t, tok in enumerate(out.token_ids[i, : out.lengths[i]])
        ]
        np.testing.assert_allclose(out.log_probs[i, : out.lengths[i]], expected, rtol=0, atol=1e-5)


def test_same_key_same_samples_and_n_samples_share_a_prompt(sampler):
    a = sampler.generate(PROMPTS[:2], key=jax.random.key(7), max_new_tokens=8, n=3, eos_ids=[])
    b = sampler.generate(PROMPTS[:2], key=jax.random.key(7), max_new_tokens=8, n=3, eos_ids=[])
    np.testing.assert_array_equal(a.token_ids, b.token_ids)
    assert a.token_ids.shape[0] == 6
    assert len({tuple(row) for row in a.token_ids[:3]}) > 1  # three different samples of prompt 0

    greedy = sampler.generate(PROMPTS[:2], key=jax.random.key(8), max_new_tokens=8, n=3, temperature=0.0, eos_ids=[])
    single = sampler.generate(PROMPTS[:2], key=jax.random.key(9), max_new_tokens=8, n=1, temperature=0.0, eos_ids=[])
    np.testing.assert_array_equal(greedy.token_ids, np.repeat(single.token_ids, 3, axis=0))


def test_eos_ends_a_row_and_counts_in_its_length(sampler):
    free = sampler.generate(PROMPTS, key=jax.random.key(3), max_new_tokens=12, temperature=0.0, eos_ids=[])
    # Make the 4th greedy token of row 0 an EOS id: row 0 must stop right there.
    eos = int(free.token_ids[0, 3])
    out = sampler.generate(PROMPTS, key=jax.random.key(3), max_new_tokens=12, temperature=0.0, eos_ids=[eos])
    first = int(np.argmax(free.token_ids[0] == eos))
    assert out.lengths[0] == first + 1 and out.finish_reasons[0] == "stop"
    np.testing.assert_array_equal(out.token_ids[0, : first + 1], free.token_ids[0, : first + 1])
    assert (out.token_ids[0, first + 1 :] == CONFIG.pad_id).all()


def test_stop_string_spanning_two_tokens_cuts_the_output(sampler, model_and_tokenizer):
    _, tokenizer = model_and_tokenizer
    free = sampler.generate(PROMPTS[:1], key=jax.random.key(4), max_new_tokens=16, temperature=0.0, eos_ids=[])
    pieces = [tokenizer.decode([t]) for t in free.token_ids[0]]
    # A stop made of the end of token 5 and the start of token 6 (both non-empty), so it spans two tokens.
    boundary = next(i for i in range(5, 14) if pieces[i] and pieces[i + 1])
    stop = pieces[boundary][-1:] + pieces[boundary + 1][:1]
    text = tokenizer.decode(free.token_ids[0].tolist())
    out = sampler.generate(
        PROMPTS[:1], key=jax.random.key(4), max_new_tokens=16, temperature=0.0, eos_ids=[], stop=[stop]
    )
    expected_text, found = cut_at_stop(text, [stop])
    assert found and out.texts[0] == expected_text and out.texts[0].endswith(stop)
    assert out.finish_reasons == ["stop"]
    # The token that completes the first occurrence is the last one kept.
    assert stop in tokenizer.decode(out.token_ids[0, : out.lengths[0]].tolist())
    assert stop not in tokenizer.decode(out.token_ids[0, : out.lengths[0] - 1].tolist())


def test_stop_matcher_on_a_real_tokenization():
    tokenizer = save_tokenizer_tmp()
    table = build_stop_table(token_bytes(tokenizer, 300), ["</answer>", "\n\n"], max_stops=4, max_stop_bytes=16)
    text = "x = 1 </answer> tail"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 3
    tail = empty_tail(1, table)
    fired = []
    for token in ids:
        tail, matched = append_and_match(tail, jnp.asarray([token]), table)
        fired.append(bool(matched[0]))
    prefix_texts = [tokenizer.decode(ids[: i + 1]) for i in range(len(ids))]
    expected = [("</answer>" in t) and ("</answer>" not in p) for t, p in zip(prefix_texts, [""] + prefix_texts[:-1])]
    assert fired == expected and any(fired)


def save_tokenizer_tmp():
    from tiny_tokenizer import build_tokenizer

    return build_tokenizer()


def test_compiles_once_per_bucket_whatever_the_sampling_settings(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    sampler = Sampler(model, tokenizer, CONFIG)
    sampler.generate(["abc", "def f"], key=jax.random.key(0), max_new_tokens=5, temperature=1.0)
    compiled = sampler.compiled_programs()
    assert compiled == 2  # one prefill, one decode
    longer = "<think> hello world"
    assert 3 < len(tokenizer(longer, add_special_tokens=False)["input_ids"]) <= 16  # the same length bucket
    sampler.generate([longer, "x"], key=jax.random.key(1), max_new_tokens=9, temperature=0.3, top_p=0.8)
    sampler.generate(["y"], key=jax.random.key(2), max_new_tokens=3, temperature=0.0, top_k=5, stop=["</answer>"], n=1)
    assert sampler.compiled_programs() == compiled
    sampler.generate(["p"] * 3, key=jax.random.key(3), max_new_tokens=4)  # batch bucket 4: a new shape
    assert sampler.compiled_programs() == compiled + 2


def test_budget_and_bucket_errors_are_clear(sampler):
    with pytest.raises(ValueError, match="max_new_tokens 99 must be in 1..24"):
        sampler.generate(["x"], key=jax.random.key(0), max_new_tokens=99)
    with pytest.raises(ValueError, match="prompt length .* exceeds the largest bucket 32"):
        sampler.generate([list(range(40))], key=jax.random.key(0), max_new_tokens=4)


def test_decode_segments_change_only_how_much_cache_is_read(model_and_tokenizer):
    """Splitting the decode loop into segments that read a growing prefix of the cache draws the same tokens
    with the same log-probs as one loop over the whole cache (20 tokens cross every boundary of 1..5 segments)."""
    model, tokenizer = model_and_tokenizer
    outputs = [
        Sampler(model, tokenizer, dataclasses.replace(CONFIG, decode_segments=segments)).generate(
            PROMPTS, key=jax.random.key(5), max_new_tokens=20, temperature=1.0, eos_ids=[]
        )
        for segments in (1, 5)
    ]
    np.testing.assert_array_equal(outputs[0].token_ids, outputs[1].token_ids)
    # float32 sums over fewer (masked) slots round differently: the tolerance of the other log-prob checks
    np.testing.assert_allclose(outputs[0].log_probs, outputs[1].log_probs, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="decode_segments"):
        SamplerConfig(max_new_tokens_cap=8, decode_segments=9)
