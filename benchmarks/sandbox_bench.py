"""Sandbox benchmark: jailed warm pool vs one fresh `python -c` per execution, on real AZR seed programs.

    python benchmarks/sandbox_bench.py [--programs 2048] [--workers 0] [--seed-dir ../shared/azr_seed]

Same as `python -m sandbox bench`; the measurement lives in sandbox/bench.py. Results: docs/benchmarks.md.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.bench import main

if __name__ == "__main__":
    sys.exit(main())
