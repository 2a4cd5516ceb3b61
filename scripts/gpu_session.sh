#!/usr/bin/env bash
# Set up a bare GPU machine (wheels carried in .whl, data in data/) and run one Fajardo block there.
#   scripts/gpu_session.sh EXPERIMENT SKEW SECONDS   (writes $OUT/runs.tgz and $OUT/session.log)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export IMBENCH_GIT_COMMIT=$(cat data/device_commit 2>/dev/null) PYTHONPATH=/tmp/site:$PWD IMBENCH_DATA=$PWD/data IMBENCH_FID_WEIGHTS=$PWD/data/fid/default_1.fp16.pt \
  XDG_CACHE_HOME=/tmp/cache
{ nvidia-smi -L; git rev-parse HEAD 2>/dev/null; date -u; } >"$OUT/session.log"
PROFILE=${PROFILE:-paper} bash scripts/gpu_fajardo.sh "$1" "$2" "$3" /tmp/w >>"$OUT/session.log" 2>&1
date -u >>"$OUT/session.log"
tar czf "$OUT/runs.tgz" -C /tmp/w runs logs
ls -la "$OUT"
