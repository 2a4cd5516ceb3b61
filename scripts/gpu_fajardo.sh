#!/usr/bin/env bash
# One GPU session of Fajardo et al.'s protocol (paper profile) for one (data, m, rho) block:
# every method of Tables 5-8 runs as its own process (they share the GPU), each adding skewed draws
# one at a time until the deadline; a run cut off by the deadline is not marked done (and not reported).
#   scripts/gpu_fajardo.sh EXPERIMENT SKEW SECONDS OUT_DIR [METHODS]
# Needs: the data under $IMBENCH_DATA, hydra/omegaconf/imblearn importable, the FID weights in
# $IMBENCH_FID_WEIGHTS (else FID is off for this session, and said so).
set -u
exp=$1; skew=$2; seconds=$3; out=$4
methods=${5:-none,smote,random,acgan,bagan,cgan,cvae,r_acgan,r_cgan,r_cvae}
deadline=$(( $(date +%s) + seconds ))
fid=true
python3 -m imbench.fid verify "${IMBENCH_FID_WEIGHTS:-}" >/dev/null 2>&1 || { fid=false; echo "FID weights missing: fid.enabled=false"; }
mkdir -p "$out/logs"
export OMP_NUM_THREADS=2 PYTHONUNBUFFERED=1
for m in ${methods//,/ }; do
  (
    for k in 1 2 3 4 5; do
      left=$(( deadline - $(date +%s) ))
      [ "$left" -le 10 ] && break
      timeout "$left" python3 -m imbench experiment="$exp" method="$m" skew="$skew" profile=${PROFILE:-paper} folds=$k \
        fid.enabled=$fid progress=false out_dir="$out/runs" >>"$out/logs/$exp-$skew-$m.log" 2>&1 || break
    done
  ) &
done
wait
echo "finished runs: $(ls "$out"/runs/*/done 2>/dev/null | wc -l)"
