"""The Qwen2 / Qwen2.5 decoder in Flax NNX.

One implementation serves training (full sequences, optional remat), prefill and cached decoding. Without a cache,
attention is `jax.nn.dot_product_attention` (cuDNN's fused kernel on GPUs, so long training sequences never hold a
[batch, heads, length, length] score tensor); with a `KVCache`, it writes the new keys/values at `cache_index` and
attends over the cache's slots.
`hidden_states` stops before the LM head so callers project only the positions they need (`logits`).

Layout of kernels: input dimensions first, so `x @ kernel` needs no transpose; attention kernels keep heads as
their own dimension ([embed, heads, head_dim]) so that tensor parallelism splits whole heads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jax.sharding import Mesh

from azr_jax.models.qwen2_config import Qwen2Config
from azr_jax.models.sharding import batch_sharding, batch_shards, replicated

# Finite, so a query whose keys are all masked (a left-pad position) yields a uniform average rather than NaN.
_MASKED = -0.7 * float(jnp.finfo(jnp.float32).max)


def _param(rngs: nnx.Rngs, init, shape, axes, dtype) -> nnx.Param:
    return nnx.Param(init(rngs.params(), shape, dtype), logical_axes=axes)


_normal = jax.nn.initializers.normal(0.02)
_zeros = jax.nn.initializers.zeros
_ones = jax.nn.initializers.ones


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class KVCache:
    """Keys and values of every layer, [batch, kv_heads, slots, head_dim] each; slot i holds position i's entry.

    Heads come before slots so each head's keys are one contiguous block: attention reads them as a batched
    matrix without transposing the cache every step, and can read a prefix of the slots.
    """

    keys: tuple[jax.Array, ...]
    values: tuple[jax.Array, ...]
    logical_axes = ("batch", "kv_heads", "length", "head_dim")  # of each layer's keys and values (a class constant)

    @classmethod
    def zeros(cls, config: Qwen2Config, batch: int, slots: int, dtype=jnp.bfloat16) -> KVCache:
        shape = (batch, config.num_key_value_heads, slots, config.head_dim)
        layers = range(config.num_hidden_layers)
        return cls(tuple(jnp.zeros(shape, dtype) for _ in layers), tuple(jnp.zeros(shape, dtype) for _ in layers))

    @property
    def slots(self) -> int:
        return self.keys[0].shape[2]


class RMSNorm(nnx.Module):
    def __init__(self, dim: int, eps: float, *, param_dtype, rngs: nnx.Rngs):
        self.eps = eps
        self.scale = _param(rngs, _ones, (dim,), ("norm",), param_dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        # Normalise in float32 whatever the activation dtype, as the reference does.
        x32 = x.astype(jnp.float32)
        x32 = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return self.scale[...].astype(x.dtype) * x32.astype(x.dtype)


def rotary_embedding(x: jax.Array, positions: jax.Array, theta: float) -> jax.Array:
    """Rotates [batch, length, heads, head_dim] by position, half-split (not interleaved) like Qwen2."""
    half = x.shape[-1] // 2
    inv_freq = 1.0 / (theta ** (jnp.arange(0, half, dtype=jnp.float32) * 2.0 / x.shape[-1]))
    angles = positions.astype(jnp.float32)[..., None] * inv_freq  # [batch, length, half]
    cos = jnp.cos(angles)[:, :, None, :]
    sin = jnp.sin(angles)[:, :, None, :]
    x1, x2 = jnp.split(x.astype(jnp.float32), 2, axis=-1)
    rotated = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
    return rotated.astype(x.dtype)


class Attention(nnx.Module):
    def __init__(self, config: Qwen2Config, *, dtype, param_dtype, rngs: nnx.Rngs):
        e, h, k, d = config.hidden_size, config.num_attention_heads, config.num_key_value_heads, config.head_dim
        self.config = config
        self.dtype = dtype
        self.q_kernel = _param(rngs, _normal, (e, h, d), ("embed", "heads", "head_dim"), param_dtype)
        self.q_bias = _param(rngs, _zeros, (h, d), ("heads", "head_dim"), param_dtype)
        self.k_kernel = _param(rngs, _normal, (e, k, d), ("embed", "kv_heads", "head_dim"), param_dtype)
        self.k_bias = _param(rngs, _zeros, (k, d), ("kv_heads", "head_dim"), param_dtype)
        self.v_kernel = _param(rngs, _normal, (e, k, d), ("embed", "kv_heads", "head_dim"), param_dtype)
        self.v_bias = _param(rngs, _zeros, (k, d), ("kv_heads", "head_dim"), param_dtype)
        self.o_kernel = _param(rngs, _normal, (h, d, e), ("heads", "head_dim", "embed"), param_dtype)

    def _project(self, x, kernel, bias):
        return jnp.einsum("bte,ehd->bthd", x, kernel[...].astype(self.dtype)) + bias[...].astype(self.dtype)

    def __call__(self, x, positions, key_mask, layer_cache, cache_index):
        """`key_mask` [batch, keys] marks real (non-pad) keys: the sequence's own, or the cache's first `keys`
        slots. With a cache, attention reads only those slots, so a decoder that knows how far the cache is
        filled reads no more of it than that."""
        cfg = self.config
        q = rotary_embedding(self._project(x, self.q_kernel, self.q_bias), positions, cfg.rope_theta)
        k = rotary_embedding(self._project(x, self.k_kernel, self.k_bias), positions, cfg.rope_theta)
        v = self._project(x, self.v_kernel, self.v_bias)
        batch, length = x.shape[:2]
        if layer_cache is None:
            out = sequence_attention(q, k, v, key_mask)
        else:
            out, layer_cache = self._cached_attention(q, k, v, key_mask, layer_cache, cache_index)
        # Heads and head_dim flattened into one contraction: a plain matmul against the kernel as stored (XLA
        # otherwise transposed the kernel to match the attention output's layout, every decode step).
        out = out.reshape(batch, length, cfg.num_attention_heads * cfg.head_dim)
        o_kernel = self.o_kernel[...].reshape(-1, cfg.hidden_size).astype(self.dtype)
        return out @ o_kernel, layer_cache

    def _cached_attention(self, q, k, v, key_mask, layer_cache, cache_index):
        """Prefill and decoding: writes k, v at `cache_index` and attends over the cache's first `keys` slots."""
        cfg = self.config
        batch, length = q.shape[:2]
        k, v = k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3)  # [batch, kv_heads, length, head_dim]
        cached_k, cached_v = layer_cache
        cached_k = jax.lax.dynamic_update_slice(cached_k, k.astype(cached_k.dtype), (0, 0, cache_index, 0))
        cached_v = jax.lax.dynamic_update_slice(cached_v, v.astype(cached_v.dtype), (0, 0, cache_index, 0))
        k, v = cached_k[:, :, : key_mask.shape[1]], cached_v[:, :, : key_mask.shape[1]]
        query_slots = cache_index + jnp.arange(length)
        key_slots = jnp.arange(k.shape[2])
        mask = (key_slots[None, :] <= query_slots[:, None])[None] & key_mask[:, None, :].astype(bool)

        q = q.reshape(batch, length, cfg.num_key_value_heads, cfg.num_query_groups, cfg.head_dim)
        scores = jnp.einsum("btkgd,bksd->bkgts", q, k.astype(self.dtype), preferred_element_type=jnp.float32)
        scores = scores * (cfg.head_dim**-0.5)
        scores = jnp.where(mask[:, None, None], scores, _MASKED)
        probs = jax.nn.softmax(scores, axis=-1).astype(self.dtype)
        out = jnp.einsum("bkgts,bksd->btkgd", probs, v.astype(self.dtype))
        return out, (cached_k, cached_v)


def attention_implementation(dtype) -> str:
    """cuDNN's fused (flash) attention on GPUs, which takes 16-bit inputs only; XLA's otherwise."""
    return "cudnn" if jax.default_backend() == "gpu" and jnp.dtype(dtype) in (jnp.bfloat16, jnp.float16) else "xla"


def sequence_attention(q: jax.Array, k: jax.Array, v: jax.Array, key_mask: jax.Array) -> jax.Array:
    """Causal self-attention of whole sequences (training, log-probs) through `jax.nn.dot_product_attention`.

    q [batch, length, heads, head_dim], k and v [batch, length, kv_heads, head_dim]; `key_mask` [batch, length]
    must mark one contiguous run of real tokens per row (left and right padding, as the update packs prompt and
    response); a row with holes gets NaN outputs rather than silently wrong ones. The fused kernels express
    padding only as a length per row (real tokens first), so each row is rotated to start at its first real
    token, attended with a causal mask and that length, and rotated back. Real positions get what the masked
    softmax over [batch, heads, length, length] scores computes; on a GPU that score tensor never exists. Pad
    positions attend to the row's real tokens instead of nothing: their outputs are never read, since pad keys
    are excluded for every real query.
    """
    batch, length = key_mask.shape
    real = key_mask.astype(bool)
    count = jnp.sum(real, axis=1, dtype=jnp.int32)
    first = jnp.argmax(real, axis=1).astype(jnp.int32)
    last = length - 1 - jnp.argmax(real[:, ::-1], axis=1).astype(jnp.int32)
    contiguous = (count == 0) | (last - first + 1 == count)
    steps = jnp.arange(length, dtype=jnp.int32)[None, :]

    def rotate(x, shift):
        return jnp.take_along_axis(x, ((steps + shift[:, None]) % length)[:, :, None, None], axis=1)

    out = jax.nn.dot_product_attention(
        rotate(q, first),
        rotate(k, first),
        rotate(v, first),
        is_causal=True,
        key_value_seq_lengths=jnp.maximum(count, 1),  # an all-padding row reads its first slot, not nothing
        implementation=attention_implementation(q.dtype),
    )
    out = rotate(out, -first)
    return jnp.where(contiguous[:, None, None, None], out, jnp.nan)


class MLP(nnx.Module):
    def __init__(self, config: Qwen2Config, *, dtype, param_dtype, rngs: nnx.Rngs):
        e, m = config.hidden_size, config.intermediate_size
        self.dtype = dtype
        self.gate_kernel = _param(rngs, _normal, (e, m), ("embed", "mlp"), param_dtype)
        self.up_kernel = _param(rngs, _normal, (e, m), ("embed", "mlp"), param_dtype)
        self.down_kernel = _param(rngs, _normal, (m, e), ("mlp", "embed"), param_dtype)

    def __call__(self, x):
        gate = x @ self.gate_kernel[...].astype(self.dtype)
        up = x @ self.up_kernel[...].astype(self.dtype)
        return (jax.nn.silu(gate) * up) @ self.down_kernel[...].astype(self.dtype)


class DecoderLayer(nnx.Module):
    def __init__(self, config: Qwen2Config, *, dtype, param_dtype, rngs: nnx.Rngs):
        self.input_norm = RMSNorm(config.hidden_size, config.rms_norm_eps, param_dtype=param_dtype, rngs=rngs)
        self.attn = Attention(config, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.post_attention_norm = RMSNorm(config.hidden_size, config.rms_norm_eps, param_dtype=param_dtype, rngs=rngs)
        self.mlp = MLP(config, dtype=dtype, param_dtype=param_dtype, rngs=rngs)

    def __call__(self, x, positions, key_mask, layer_cache, cache_index):
        attended, layer_cache = self.attn(self.input_norm(x), positions, key_mask, layer_cache, cache_index)
        x = x + attended
        x = x + self.mlp(self.post_attention_norm(x))
        return x, layer_cache


def _run_layer(layer: DecoderLayer, x, positions, key_mask, layer_cache, cache_index):
    return layer(x, positions, key_mask, layer_cache, cache_index)


_run_layer_remat = nnx.remat(_run_layer)


class Qwen2ForCausalLM(nnx.Module):
    """Qwen2ForCausalLM: `model(input_ids, attention_mask=mask)` -> float32 logits [batch, length, vocab].

    dtype: activations and matmul inputs (bfloat16 by default); param_dtype: stored weights (float32 master
    weights by default). Softmax, norms, rotary angles and logits are computed in float32 regardless.
    mesh: when given, activations are kept batch-sharded over (data, fsdp) between layers.
    """

    def __init__(
        self,
        config: Qwen2Config,
        *,
        dtype: Any = jnp.bfloat16,
        param_dtype: Any = jnp.float32,
        remat: bool = False,
        mesh: Mesh | None = None,
        rngs: nnx.Rngs,
    ):
        self.config = config
        self.dtype = dtype
        self.remat = remat
        self.mesh = mesh
        self.embed_tokens = _param(
            rngs, _normal, (config.vocab_size, config.hidden_size), ("vocab", "embed"), param_dtype
        )
        self.layers = nnx.List(
            [
                DecoderLayer(config, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
                for _ in range(config.num_hidden_layers)
            ]
        )
        self.final_norm = RMSNorm(config.hidden_size, config.rms_norm_eps, param_dtype=param_dtype, rngs=rngs)
        if not config.tie_word_embeddings:
            self.lm_head = _param(
                rngs, _normal, (config.hidden_size, config.vocab_size), ("embed", "vocab"), param_dtype
            )

    def __call__(self, input_ids, attention_mask=None, positions=None) -> jax.Array:
        hidden, _ = self.hidden_states(input_ids, attention_mask, positions)
        return self.logits(hidden)

    def hidden_states(
        self,
        input_ids: jax.Array,
        attention_mask: jax.Array | None = None,
        positions: jax.Array | None = None,
        cache: KVCache | None = None,
        cache_index: jax.Array | int = 0,
    ) -> tuple[jax.Array, KVCache | None]:
        """Final-norm hidden states [batch, length, hidden] (in `dtype`) and the updated cache.

        Without a cache, `attention_mask` is [batch, length] (1 = token, 0 = padding before or after one
        contiguous run of tokens; see `sequence_attention`) and positions default to the count of real tokens
        before each one, so left padding does not shift positions.
        With a cache, the tokens go to slots cache_index.. of the cache, `attention_mask` is [batch, keys] over
        the cache's first `keys` slots (at least up to the last token written; attention reads only those),
        and `positions` must be given.
        """
        batch, length = input_ids.shape
        if cache is None:
            if attention_mask is None:
                attention_mask = jnp.ones((batch, length), jnp.int32)
            if positions is None:
                positions = jnp.maximum(jnp.cumsum(attention_mask, axis=-1) - 1, 0)
        elif attention_mask is None or positions is None:
            raise ValueError("decoding with a KV cache needs attention_mask over the cache slots and positions")
        table = self.embed_tokens[...].astype(self.dtype)
        if self.mesh is not None:  # gather the table for the lookup, as FSDP gathers each layer's weights
            table = jax.lax.with_sharding_constraint(table, replicated(self.mesh))
        x = self._constrain_batch(table[input_ids])
        # Remat saves memory for a backward pass; sampling (with a cache) has none, and NNX's remat refuses the
        # Variables of a model merged outside the decode loop.
        run = _run_layer_remat if self.remat and cache is None else _run_layer
        keys, values = [], []
        for i, layer in enumerate(self.layers):
            layer_cache = None if cache is None else (cache.keys[i], cache.values[i])
            x, layer_cache = run(layer, x, positions, attention_mask, layer_cache, cache_index)
            x = self._constrain_batch(x)
            if cache is not None:
                keys.append(layer_cache[0])
                values.append(layer_cache[1])
        new_cache = None if cache is None else KVCache(tuple(keys), tuple(values))
        return self.final_norm(x), new_cache

    def logits(self, hidden: jax.Array) -> jax.Array:
        """Applies the LM head to hidden states [..., hidden] with float32 accumulation and output."""
        if self.config.tie_word_embeddings:
            return jnp.einsum(
                "...e,ve->...v", hidden, self.embed_tokens[...].astype(self.dtype), preferred_element_type=jnp.float32
            )
        return jnp.einsum(
            "...e,ev->...v", hidden, self.lm_head[...].astype(self.dtype), preferred_element_type=jnp.float32
        )

    def _constrain_batch(self, x: jax.Array) -> jax.Array:
        if self.mesh is None:
            return x
        if x.shape[0] % batch_shards(self.mesh):
            return x
        return jax.lax.with_sharding_constraint(x, batch_sharding(self.mesh))

    # ---- Hugging Face folders ----

    @classmethod
    def from_pretrained(
        cls,
        path_or_hub_id: str | Path,
        *,
        dtype: Any = jnp.bfloat16,
        param_dtype: Any = jnp.float32,
        remat: bool = False,
        mesh: Mesh | None = None,
    ) -> Qwen2ForCausalLM:
        """Loads a Hugging Face Qwen2 folder (or a hub id, when online), one tensor at a time onto its sharding."""
        from azr_jax.models import hf_io

        folder = hf_io.resolve_model_folder(path_or_hub_id)
        config = Qwen2Config.from_json_file(folder / "config.json")
        abstract = nnx.eval_shape(
            lambda: cls(config, dtype=dtype, param_dtype=param_dtype, remat=remat, mesh=mesh, rngs=nnx.Rngs(0))
        )
        graphdef, abstract_state = nnx.split(abstract)
        state = hf_io.load_state(folder, config, abstract_state, mesh)
        return nnx.merge(graphdef, state)

    def save_pretrained(self, out_dir: str | Path, *, dtype: Any = None, max_shard_bytes: int = 5 * 2**30) -> Path:
        """Writes config.json and safetensors (sharded past max_shard_bytes) that transformers and vLLM load.

        dtype: the stored dtype (e.g. jnp.bfloat16 to halve the export); defaults to the parameters' own.
        """
        from azr_jax.models import hf_io

        return hf_io.save_state(out_dir, self.config, nnx.state(self, nnx.Param), dtype, max_shard_bytes)
