#!/usr/bin/env bash
# The GPU numbers of docs/benchmarks.md, in one run: from the repository root, on a CUDA machine whose python3
# has JAX (CUDA) and PyTorch. Results go to $OUT (default /tmp/gpu_suite).
set -u
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
out=${OUT:-/tmp/gpu_suite}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import jax, flax, torch; print('jax', jax.__version__, 'flax', flax.__version__, 'torch', torch.__version__)" | tee -a "$out/gpu.txt"
# The decode roofline's reference is the read bandwidth: a decode step reads weights and cache, writes little.
bandwidth=$(python3 benchmarks/device_bandwidth.py | tee -a "$out/gpu.txt" | sed -E 's/.*read bandwidth: ([0-9]+) GB\/s.*/\1/')
timeout 200 python3 benchmarks/model_forward.py --preset qwen2.5-coder-3b --batch 8 --length 1024 2>&1 \
    | grep -v -i warning | tee "$out/forward.txt"
timeout 330 python3 benchmarks/sampling_bench.py --preset qwen2.5-coder-3b --dtype bfloat16 --batch 64 256 \
    --prompt-len 512 --new-tokens 512 --roofline-gbps "$bandwidth" 2>&1 | grep -v -i warning | tee "$out/sampling.txt"
