"""Evaluation on the paper's code and math benchmarks, from local files, through our sampler and sandbox.

`python -m azr_jax.eval` (see __main__.py and docs/eval.md); the trainer's periodic eval uses `harness` and
`report` the same way.
"""
