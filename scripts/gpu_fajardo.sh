#!/usr/bin/env bash
# One GPU session of Fajardo et al.'s protocol for one (data, m, rho) block, until a deadline.
#   scripts/gpu_fajardo.sh EXPERIMENT SKEW SECONDS OUT_DIR [METHODS]
# Draw by draw (folds=1, 2, ...): the methods of a draw run JOBS at a time (default 2: on 2026-11-24, ten
# processes sharing one H100 ran each generator ~7x slower than alone, so little is gained beyond 2).
# DRAWS_AT_ONCE=5 runs all five draws of a method in one process instead, so that batch_runs (auto = on
# CUDA) trains its generators -- every draw and, with PROFILE=paper, both halves of every draw's weight
# search -- as vmap groups (imbench/methods/generative/stepped.py); nothing of a method is written before
# its group has trained. A run cut off by the deadline is not marked done (and not reported). PROFILE picks the profile
# (default paper). Needs the data under $IMBENCH_DATA, hydra/omegaconf/imblearn importable, and the FID
# weights in $IMBENCH_FID_WEIGHTS (else FID is off for this session, and the log says so).
set -u
exp=$1; skew=$2; seconds=$3; out=$4
methods=${5:-none,smote,random,cgan,r_cgan,cvae,r_cvae,acgan,r_acgan,bagan}
jobs=${JOBS:-2}
deadline=$(( $(date +%s) + seconds ))
fid=true
python3 -m imbench.fid verify "${IMBENCH_FID_WEIGHTS:-}" >/dev/null 2>&1 || { fid=false; echo "FID weights missing: fid.enabled=false"; }
mkdir -p "$out/logs"
export OMP_NUM_THREADS=2 PYTHONUNBUFFERED=1
run_one() {  # METHOD DRAWS
  local left=$(( deadline - $(date +%s) ))
  [ "$left" -le 10 ] && return 0
  timeout "$left" python3 -m imbench experiment="$exp" method="$1" skew="$skew" profile="${PROFILE:-paper}" \
    folds="$2" fid.enabled=$fid progress=false out_dir="$out/runs" >>"$out/logs/$exp-$skew-$1.log" 2>&1
}
export -f run_one; export exp skew out fid deadline
step=${DRAWS_AT_ONCE:-1}
for k in $(seq "$step" "$step" 5) $([ $(( 5 % step )) -ne 0 ] && echo 5); do
  echo "${methods//,/ }" | tr ' ' '\n' | xargs -P "$jobs" -I{} bash -c "run_one {} $k"
  [ $(( deadline - $(date +%s) )) -le 10 ] && break
done
echo "finished runs: $(ls "$out"/runs/*/done 2>/dev/null | wc -l)"
