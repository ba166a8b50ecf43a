"""Device memory bandwidth as a copy measures it (bytes read + written per second), the roofline's reference.

    python benchmarks/device_bandwidth.py [--gib 4]
Prints `copy bandwidth: N GB/s` (median of 20 copies of a --gib GiB buffer) and the read bandwidth of a sum over
the same buffer (each byte read once, nothing written: what a decode step mostly does with the weights).
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0)
    args = parser.parse_args()
    n = int(args.gib * 2**30) // 4
    x = jnp.ones((n,), jnp.float32)
    copy = jax.jit(lambda x: x * 1.0 + 0.0)  # one read and one write of every byte
    read = jax.jit(jnp.sum)  # one read of every byte
    copy_gbps = 2 * x.nbytes / _median_seconds(copy, x) / 1e9
    read_gbps = x.nbytes / _median_seconds(read, x) / 1e9
    print(
        f"device: {jax.devices()[0].device_kind}; copy bandwidth: {copy_gbps:.0f} GB/s; read bandwidth: {read_gbps:.0f} GB/s"
    )


def _median_seconds(fn, x, repeats: int = 20) -> float:
    fn(x).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x).block_until_ready()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
