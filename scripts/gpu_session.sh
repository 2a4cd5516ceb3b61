#!/usr/bin/env bash
# Set up a bare GPU machine (wheels carried in .whl, data in data/) and run one Fajardo block there.
#   scripts/gpu_session.sh EXPERIMENT SKEW SECONDS   (writes $OUT/runs.tgz and $OUT/session.log)
set -u
source scripts/gpu_env.sh
{ nvidia-smi -L; git rev-parse HEAD 2>/dev/null; date -u; } >"$OUT/session.log"
PROFILE=${PROFILE:-paper} bash scripts/gpu_fajardo.sh "$1" "$2" "$3" /tmp/w >>"$OUT/session.log" 2>&1
date -u >>"$OUT/session.log"
tar czf "$OUT/runs.tgz" -C /tmp/w runs logs
ls -la "$OUT"
