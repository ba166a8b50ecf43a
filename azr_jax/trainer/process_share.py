"""Sandbox work split over the processes of a multi-host run, its verdicts exchanged so host state stays identical.

Every process holds the same host state (buffers, numpy RNG) and so the same list of items to grade. Process p
runs the sandbox for items p, p + P, p + 2P, ... (a strided share mixes cheap and costly items, e.g. the task
types); then the processes all-gather their results, JSON-encoded as padded byte arrays, and every process goes
on with all of them. With one process the share is the whole list and nothing is exchanged.

The exchange is a device collective: call `gather_shares` from the thread that drives the device (never from a
background thread), so every process issues its collectives in the same order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import numpy as np
from jax.experimental import multihost_utils

T = TypeVar("T")


def this_share(items: Sequence[T]) -> list[T]:
    """The items this process works on."""
    return list(items[jax.process_index() :: jax.process_count()])


def gather_shares(local: list[Any], total: int) -> list[Any]:
    """Every process's `this_share` results (JSON-able, one per item) back in item order, on every process."""
    count = jax.process_count()
    if count == 1 or total == 0:  # every process has the same total, so all of them skip together
        return list(local)
    data = np.frombuffer(json.dumps(local).encode(), np.uint8)
    sizes = np.asarray(multihost_utils.process_allgather(np.array([data.size], np.int32))).reshape(count)
    # Powers of two bound the number of shapes the all-gather compiles for.
    width = 1 << max(int(sizes.max()) - 1, 1023).bit_length()
    padded = np.zeros(width, np.uint8)
    padded[: data.size] = data
    blobs = np.asarray(multihost_utils.process_allgather(padded)).reshape(count, width)
    results: list[Any] = [None] * total
    for p in range(count):
        share = json.loads(blobs[p, : sizes[p]].tobytes())
        if len(share) != len(range(p, total, count)):
            raise RuntimeError(f"process {p} returned {len(share)} results for its share of {total} items")
        results[p::count] = share
    return results


def on_shares(work: Callable[[list[T]], list[Any]], items: Sequence[T]) -> list[Any]:
    """`work` (a list of items -> one JSON-able result each) run by each process on its share; all results."""
    share = this_share(items)
    return gather_shares(work(share) if share else [], len(items))


def check_agreement(host_state: Callable[[], Any], what: str) -> None:
    """Raises unless every process holds the same `host_state()` (JSON-able; only computed with several
    processes): replicated host state that diverged would silently feed the processes different batches."""
    count = jax.process_count()
    if count == 1:
        return
    digest = hashlib.sha256(json.dumps(host_state(), sort_keys=True).encode()).digest()
    digests = np.asarray(multihost_utils.process_allgather(np.frombuffer(digest, np.uint8))).reshape(count, -1)
    differing = [p for p in range(1, count) if not np.array_equal(digests[p], digests[0])]
    if differing:
        raise RuntimeError(f"{what} of process(es) {differing} differs from process 0's; the processes have diverged")
