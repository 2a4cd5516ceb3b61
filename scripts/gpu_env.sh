# Sourced by the GPU-machine scripts: install the carried wheels (.whl/: hydra-core, omegaconf, antlr4,
# imbalanced-learn, sklearn-compat; the machine has torch and torchvision and no internet) into
# /tmp/site and point imbench at the carried data (data/: MNIST, FID weights, the commit of this tree).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export IMBENCH_GIT_COMMIT=$(cat data/device_commit 2>/dev/null) PYTHONPATH=/tmp/site:$PWD IMBENCH_DATA=$PWD/data \
  IMBENCH_FID_WEIGHTS=$PWD/data/fid/default_1.fp16.pt XDG_CACHE_HOME=/tmp/cache
