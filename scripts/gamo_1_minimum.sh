#!/usr/bin/env bash
# GAMO Table 1 at the paper's budget (profile=paper: 25,000 mini-batches, 100 test images per class), the
# smallest complete table first: every row of the paper's Table 1, both losses, with one skewed draw, and
# Baseline CN, SMOTE+CN (MNIST only, as in the paper) and GAMO with three; cheapest runs first, so that an interrupted queue has filled the most
# cells. Records resume: run it again (same OUT_DIR) to continue; FOLDS_MAIN / FOLDS_OTHER raise the draws
# (the paper's 10: `make table-gamo-1`). One job at a time; on 2 CPU cores it takes a few days in all
# (a dense GAMO training about 25 minutes, a convolutional one longer), on a GPU hours.
#
#   scripts/gamo_1_minimum.sh OUT_DIR [extra overrides...]
#   python -m imbench.tables gamo_1 --profile paper --out-dir OUT_DIR
set -uo pipefail
out=${1:?usage: scripts/gamo_1_minimum.sh OUT_DIR [overrides...]}
shift
main=${FOLDS_MAIN:-3}
other=${FOLDS_OTHER:-1}
run() { python -m imbench -m experiment=gamo_1 profile=paper progress=false out_dir="$out" "$@" || echo "FAILED: $*"; }
family=gamo_d,cg_cn,cg_d_cn
# MNIST (dense form), cheap rows first
run folds=$main method=none,smote classifier.schedule.loss=ce,ls "$@"
run folds=$other method=cgan_cn classifier.schedule.loss=ce,ls "$@"
run folds=$other method=$family ++method.form=dense method.loss=ce,ls "$@"  # ++: the sweep composes first with the default method, which has no form key
run folds=$main method=gamo method.form=dense method.loss=ls,ce "$@"
# Fashion-MNIST (convolutional form)
run folds=$main data=fmnist classifier=gamo_conv_cn method=none classifier.schedule.loss=ce,ls "$@"
run folds=$other data=fmnist classifier=gamo_conv_cn method=augment,cdcgan_cn classifier.schedule.loss=ce,ls "$@"
run folds=$other data=fmnist method=dos,$family method.loss=ce,ls "$@"
run folds=$main data=fmnist method=gamo method.loss=ls,ce "$@"
