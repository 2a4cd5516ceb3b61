#!/usr/bin/env bash
# Everything of issue 3 that needs a GPU, in one device call (under 10 minutes on an H100):
#   1. the CUDA-only tests (batched classifiers and generators, CUDA graphs, bf16, TorchSMOTE on CUDA);
#   2. benchmarks/run.py --device cuda (MLP / CNN models per minute, batched vs sequential; SMOTE);
#   3. benchmarks/generators.py --device cuda --group 15 (generator groups vs one at a time);
#   4. one quick-profile Fajardo job through the runner, whose two draws' CGANs train as one group;
#   5. benchmarks/bf16_check.py: 16 MLP seeds with bf16 autocast vs 16 in float32 on one Fajardo draw;
#   6. benchmarks/gamo_group.py --device cuda: GAMO alone vs groups of 3 and 10 (a Table 1 cell's repeats);
#   7. benchmarks/gamo_step.py --device cuda: one GAMO mini-batch, imbench's trainer vs a straightforward one;
#   8. benchmarks/generators.py --methods infogan,imsic --group 10: IMSIC's GANs, seconds per iteration and
#      a Table 1 cell's draws as one group vs one at a time.
# PARTS="name ..." runs only those parts (all eight together may pass the device tool's 600 s per call).
# Each part has its own time limit, so one that hangs leaves the others their time. Writes logs and the
# benchmark JSON files into $OUT (default ./gpu-out), and a summary line per part into $OUT/checks.log.
# Run on the device machine as
#   git rev-parse HEAD > data/device_commit
#   run(command="bash scripts/gpu_checks.sh", carry=[".whl", "data/MNIST", "data/device_commit"])
set -u
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
source scripts/gpu_env.sh
export PYTHONUNBUFFERED=1
{ nvidia-smi -L; echo "commit ${IMBENCH_GIT_COMMIT:-?}"; date -u; } >"$OUT/checks.log"
part() {  # NAME SECONDS COMMAND...
  local name=$1 limit=$2 t0=$(date +%s); shift 2
  if [ -n "${PARTS:-}" ] && [[ " $PARTS " != *" $name "* ]]; then return; fi
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  echo "$name: exit $? after $(( $(date +%s) - t0 )) s (limit $limit s)" >>"$OUT/checks.log"
}
part tests 120 python3 -m pytest -q -p no:cacheprovider -k cuda tests/
part benchmark 160 python3 benchmarks/run.py --device cuda --budget-s 140 --out "$OUT" --commit "${IMBENCH_GIT_COMMIT:-}"
part generators 80 python3 benchmarks/generators.py --device cuda --steps 100 --group 15 --out "$OUT"
part runner 70 python3 -m imbench experiment=fajardo_5 profile=quick method=cgan skew=fajardo_m3 fid.enabled=false \
  progress=false out_dir=/tmp/gpu-checks-runs
part bf16 80 python3 benchmarks/bf16_check.py --device cuda --seeds 16 --out "$OUT"
part gamo_group 60 python3 benchmarks/gamo_group.py --device cuda --steps 100 --repeats 2 --groups 3 10 --out "$OUT"
part gamo_step 90 python3 benchmarks/gamo_step.py --device cuda --steps 100 --repeats 2 --out "$OUT"
part imsic 90 python3 benchmarks/generators.py --device cuda --steps 40 --methods infogan,imsic --group 10 --out "$OUT"
python3 - >>"$OUT/checks.log" 2>&1 <<'PY'
import glob, json
for p in sorted(glob.glob("/tmp/gpu-checks-runs/*/result.json")):
    r = json.load(open(p))
    o = r.get("oversampler") or {}
    print("run", p.split("/")[-2], "group_size", o.get("group_size"), "cuda_graphs", o.get("cuda_graphs"),
          o.get("cuda_graphs_failure", ""), "device", r["hardware"].get("device"))
PY
date -u >>"$OUT/checks.log"
cat "$OUT/checks.log"
