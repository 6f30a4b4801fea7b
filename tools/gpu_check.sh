#!/usr/bin/env bash
# The GPU check of docs/gpu.md in one prepared run: every notebook in the gpu profile with its wall time,
# the shipped checkpoints' sample quality sampled on the device, and one timed step of each recipe's model.
#
#   OUT=/path/for/results bash tools/gpu_check.sh          # on a CUDA machine (the device tool sets $OUT)
#   SMOKE=1 OUT=/tmp/gpu_check bash tools/gpu_check.sh     # on a CPU: the same steps with tiny budgets, to test it
#
# Writes device.txt, notebooks.log, executed/*.ipynb, sample_quality.log and recipes.log under $OUT; runs
# every step even when one fails, and exits non-zero if any did.
set -u
OUT=${OUT:-runs/gpu_check}
PY=${PY:-python}
mkdir -p "$OUT"
failed=0
step() { echo "== $1"; shift; "$@" || { failed=1; echo "!! failed: $*"; }; }
DEVICE=$($PY -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
step device $PY -c "import torch, platform; print(platform.node(), torch.__version__, torch.version.cuda, [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])" \
    > "$OUT/device.txt" 2>&1
if [ "${SMOKE:-0}" = 1 ]; then SMOKE_ARG=--smoke; N_SAMPLES=10; RECIPE_ARGS="--batch 2 --repeats 1"
else SMOKE_ARG=; N_SAMPLES=100; RECIPE_ARGS=; fi
step notebooks $PY tools/run_notebooks.py --profile gpu $SMOKE_ARG --out "$OUT/executed" > "$OUT/notebooks.log" 2>&1
step sample-quality $PY benchmarks/sample_quality.py --device "$DEVICE" --n "$N_SAMPLES" > "$OUT/sample_quality.log" 2>&1
step recipes $PY benchmarks/recipe_step_time.py --device "$DEVICE" $RECIPE_ARGS > "$OUT/recipes.log" 2>&1
tail -n 3 "$OUT"/*.log
exit $failed
