"""One process of a two-process run joined by jax.distributed on localhost (CPU): sandbox work split by
`process_share` and its verdicts exchanged.

    python multihost_share_check.py PORT PROCESS_ID OUT_JSON

Each process validates its share of the same proposals with its own executor; writes which items it ran, the
verdicts it ended with (all of them), and what `check_agreement` says for equal and for differing host state.
"""

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import json

import jax

from azr_jax.rl import ParallelConfig, initialize
from azr_jax.trainer.process_share import check_agreement, on_shares
from sandbox.config import SandboxConfig
from sandbox.executor import Executor

# (program, input): ok, ok with a long output, a runtime error, a banned import, a syntax error.
PROPOSALS = [
    ("def f(x):\n    return x * 2", "21"),
    ("def f(s):\n    return s[::-1] * 300", "'abc'"),
    ("def f(x):\n    return 1 // x", "0"),
    ("import os\ndef f(x):\n    return os.getpid()", "1"),
    ("def f(x) return x", "1"),
]


def main(port: str, process_id: int, out: str):
    initialize(
        ParallelConfig(
            distributed=True, coordinator_address=f"localhost:{port}", num_processes=2, process_id=process_id
        )
    )
    ran = []

    def validate(share):
        ran.extend(PROPOSALS.index(p) for p in share)
        return [(r.ok, r.output, r.status.value) for r in executor.validate(share)]

    with Executor(SandboxConfig(workers=2, timeout_s=5.0)) as executor:
        verdicts = on_shares(validate, PROPOSALS)
    check_agreement(lambda: {"verdicts": verdicts}, "verdicts")
    try:
        check_agreement(lambda: {"process": jax.process_index()}, "the process index")
        differing = None
    except RuntimeError as e:
        differing = str(e)
    with open(out, "w") as f:
        json.dump({"ran": ran, "verdicts": verdicts, "differing": differing}, f)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
