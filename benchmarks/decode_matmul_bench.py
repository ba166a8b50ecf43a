"""The floor under a decode step: the weight matmuls alone, XLA (jax.jit) against PyTorch, same shapes, same run.

    python benchmarks/decode_matmul_bench.py --preset qwen2.5-coder-0.5b --batch 8 32

One decode step multiplies a [batch, hidden] activation by every weight matrix once: per layer q, k, v, o and the
three MLP matrices, then the LM head. This chains exactly those matmuls (with the residual adds and the SiLU
gate, no attention over the cache, no norms) in float32, in our kernel layout ([in, out]) for XLA and PyTorch's
([out, in]) for torch, and reports milliseconds and the weight bytes read per second. A sampler's decode step
cannot be faster than its library's time here, so the ratio of the two libraries bounds what any sampler built on
XLA can gain over `transformers` on this machine. Compare with benchmarks/sampling_bench.py's ms per decode step.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from azr_jax.models import preset


def weight_shapes(config) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """[in, out] shapes of one layer's matrices, in the order a step uses them, and the LM head's."""
    e, m = config.hidden_size, config.intermediate_size
    q, kv = config.num_attention_heads * config.head_dim, config.num_key_value_heads * config.head_dim
    return [(e, q), (e, kv), (e, kv), (q, e), (e, m), (e, m), (m, e)], (e, config.vocab_size)


def decode_matmuls(x, weights, mm, silu):
    """Every weight matmul of one decode step, `mm(activation, weight)` in the library's own weight layout. Per
    layer: the attention projections (the query projection stands in for the attention output; keys and values
    are returned, as a sampler writes them to its cache), then the MLP; then the LM head."""
    layer_weights, head = weights
    cache = []
    for q, k, v, o, gate, up, down in layer_weights:
        cache.append((mm(x, k), mm(x, v)))
        x = x + mm(mm(x, q), o)
        x = x + mm(silu(mm(x, gate)) * mm(x, up), down)
    return mm(x, head), cache


def best_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="qwen2.5-coder-0.5b")
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import torch
    import torch.nn.functional as F

    config = preset(args.preset)
    layer_shapes, head_shape = weight_shapes(config)
    rng = np.random.default_rng(0)
    layers = [
        [rng.standard_normal(s, dtype=np.float32) * 0.02 for s in layer_shapes] for _ in range(config.num_hidden_layers)
    ]
    head = rng.standard_normal(head_shape, dtype=np.float32) * 0.02
    weight_bytes = 4 * (sum(a.size for layer in layers for a in layer) + head.size)
    jax_weights = ([[jnp.asarray(a) for a in layer] for layer in layers], jnp.asarray(head))
    # PyTorch's layout, [out, in], as F.linear and transformers' nn.Linear read it.
    torch_weights = (
        [[torch.from_numpy(a.T.copy()) for a in layer] for layer in layers],
        torch.from_numpy(head.T.copy()),
    )

    jitted = jax.jit(lambda x, w: decode_matmuls(x, w, jnp.matmul, jax.nn.silu))
    print(
        f"{args.preset}: {config.num_hidden_layers} layers, {weight_bytes / 1e9:.2f} GB of float32 weights per step, "
        f"{jax.devices()[0].platform}, torch {torch.__version__} with {torch.get_num_threads()} threads"
    )
    print("| batch | XLA ms | XLA GB/s | torch ms | torch GB/s | XLA / torch time |")
    print("|---|---|---|---|---|---|")
    for batch in args.batch:
        x = rng.standard_normal((batch, config.hidden_size), dtype=np.float32)
        xj, xt = jnp.asarray(x), torch.from_numpy(x)
        with torch.no_grad():
            torch_ms = best_ms(lambda: decode_matmuls(xt, torch_weights, F.linear, F.silu), args.repeats)
        jax_ms = best_ms(lambda: jax.block_until_ready(jitted(xj, jax_weights)), args.repeats)
        print(
            f"| {batch} | {jax_ms:.0f} | {weight_bytes / jax_ms / 1e6:.1f} | {torch_ms:.0f} | "
            f"{weight_bytes / torch_ms / 1e6:.1f} | {jax_ms / torch_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
