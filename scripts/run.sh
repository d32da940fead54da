#!/usr/bin/env bash
# The main job on the built-in default: installs dependencies, builds, writes
# a synthetic click dataset (TFRecord files of tf.Example records drawn from
# a planted logistic model: Zipf-distributed user/item/query ids, a context
# id and two numeric features) and trains the model of
# examples/clicks/model.json on it with `embcol train` -- embeddings for
# every id (a dynamic table for the raw 64-bit query keys), a DNN on top,
# evaluation every 1000 steps, checkpoints and TensorBoard event files --
# printing the final AUC and log loss on held-out data.
#
# Everything goes to build/demo/ (override with EMBCOL_DEMO_DIR). Run it
# again and training resumes from the latest checkpoint (and, the epochs
# being done, just evaluates); delete the directory to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh >/dev/null
demo="${EMBCOL_DEMO_DIR:-build/demo}"
mkdir -p "$demo/data"
cp examples/clicks/model.json "$demo/model.json"
if [[ ! -f "$demo/data/train.tfrecord" || ! -f "$demo/data/eval.tfrecord" ]]; then
  build/embcol gen-data --out "$demo/data/train.tfrecord" --examples 100000 --seed 1 --data-seed 1
  build/embcol gen-data --out "$demo/data/eval.tfrecord" --examples 20000 --seed 1 --data-seed 2
fi
exec build/embcol train --config "$demo/model.json" "$@"
