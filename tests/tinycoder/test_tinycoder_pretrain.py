"""Pretraining pieces: the tokenizer, the response-only loss (against full-logit cross-entropy), and exact resume."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.tinycoder.pretrain import Batches, Example, PretrainConfig, collate, pretrain, response_loss, tokenize
from azr_jax.tinycoder.tokenizer import EOS, FORMAT_TAGS, train_tokenizer

TEXTS = [
    "def f(x):\n    return x * 3 + 1",
    " f doubles it. </think>\n<answer>\n```output\n[1, 2]\n```\n</answer>",
    "User: find the output\nAssistant: <think>",
] * 30


def small_config(vocab: int) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rope_theta=10_000.0,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=0,
    )


def test_tokenizer_round_trips_and_keeps_format_tags_whole():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    assert tokenizer.eos_token == EOS and tokenizer.pad_token_id == tokenizer.eos_token_id
    for tag in FORMAT_TAGS:
        assert len(tokenizer(tag, add_special_tokens=False)["input_ids"]) == 1
    text = "Assistant: <think> x</think>\n<answer>é ünïcode 🙂</answer>"
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_examples_keep_the_end_of_long_prompts_and_end_with_eos():
    tokenizer = train_tokenizer(TEXTS, vocab_size=300)
    [example] = tokenize([TEXTS[0] + TEXTS[2]], [" ok </think>"], tokenizer, max_prompt_tokens=5)
    full = tokenizer(TEXTS[0] + TEXTS[2], add_special_tokens=False)["input_ids"]
    assert example.prompt_ids.tolist() == full[-5:]
    assert example.response_ids[-1] == tokenizer.eos_token_id


def test_response_loss_equals_cross_entropy_of_the_full_logits_on_response_tokens():
    model = Qwen2ForCausalLM(small_config(50), dtype=jnp.float32, rngs=nnx.Rngs(1))
    rng = np.random.default_rng(0)
    examples = [
        Example(rng.integers(1, 50, p).astype(np.int32), rng.integers(1, 50, r).astype(np.int32))
        for p, r in ((5, 3), (9, 6), (2, 1))
    ]
    batch = collate(examples, length=16, window=8, pad_id=0)
    loss, count = response_loss(model, {k: jnp.asarray(v) for k, v in batch.items()})
    # Reference: every position's logits, the next token as target, only response tokens counted.
    logits = model(jnp.asarray(batch["input_ids"]), jnp.asarray(batch["attention_mask"]))
    nll = optax.softmax_cross_entropy_with_integer_labels(logits[:, :-1], batch["input_ids"][:, 1:])
    weights = np.zeros_like(batch["input_ids"][:, 1:], dtype=np.float32)
    for i, ex in enumerate(examples):
        weights[i, len(ex.prompt_ids) - 1 : len(ex.prompt_ids) - 1 + len(ex.response_ids)] = 1
    assert int(count) == 3 + 6 + 1 == weights.sum()
    np.testing.assert_allclose(float(loss), float((nll * weights).sum() / weights.sum()), rtol=1e-5)


def test_pretraining_lowers_the_loss_and_resumes_exactly(tmp_path):
    examples = [
        Example(np.array([5, 6, 7, 8][: 2 + i % 3], np.int32), np.array([9, 10 + i % 3, 0], np.int32))
        for i in range(40)
    ]
    config = PretrainConfig(
        steps=30,
        tokens_per_batch=64,
        length_buckets=(16,),
        response_buckets=(4,),
        learning_rate=3e-2,
        warmup_steps=2,
        checkpoint_every=10,
        log_every=10,
    )
    model, records = pretrain(small_config(20), examples, 0, config, tmp_path / "once")
    assert records[-1]["loss"] < 0.4 * records[0]["loss"]  # the response is a function of the prompt
    # Stopped (max_seconds=0: after one step, checkpointed), then resumed: the same parameters as the uninterrupted run.
    _, stopped = pretrain(small_config(20), examples, 0, config, tmp_path / "twice", max_seconds=0)
    assert stopped == []  # no log window completed
    resumed, _ = pretrain(small_config(20), examples, 0, config, tmp_path / "twice")
    for a, b in zip(jax.tree.leaves(nnx.state(model)), jax.tree.leaves(nnx.state(resumed))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_batches_are_deterministic_and_bucketed():
    examples = [
        Example(np.arange(1, 2 + i % 7, dtype=np.int32), np.array([3] * (1 + i % 5) + [0], np.int32)) for i in range(50)
    ]
    config = PretrainConfig(steps=1, tokens_per_batch=64, length_buckets=(8, 16), response_buckets=(4, 8), seed=3)
    first, second = Batches(examples, config, 0), Batches(examples, config, 0)
    for _ in range(10):
        a, b = first.next(), second.next()
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert a["input_ids"].shape[1] in (8, 16) and a["window_mask"].shape[1] in (4, 8)
        assert a["input_ids"].shape[0] * a["input_ids"].shape[1] <= 64
