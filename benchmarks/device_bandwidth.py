"""Device memory bandwidth as a copy measures it (bytes read + written per second), the roofline's reference.

    python benchmarks/device_bandwidth.py [--gib 4]
Prints one line: `copy bandwidth: N GB/s` (median of 20 copies of a --gib GiB buffer).
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
    copy(x).block_until_ready()
    times = []
    for _ in range(20):
        start = time.perf_counter()
        copy(x).block_until_ready()
        times.append(time.perf_counter() - start)
    gbps = 2 * x.nbytes / statistics.median(times) / 1e9
    print(f"device: {jax.devices()[0].device_kind}; copy bandwidth: {gbps:.0f} GB/s")


if __name__ == "__main__":
    main()
