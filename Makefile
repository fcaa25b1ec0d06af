# Every install step lives here: `make install` builds everything from nothing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DENOISE := $(VENV)/bin/denoise

.PHONY: install test test-all demo data sample-audio eval-set train evaluate clean-out

install:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,eval]'
	$(DENOISE) --version

test:
	$(PY) -m pytest -q -m "not slow and not cuda"

test-all:
	$(PY) -m pytest -q

demo:
	$(DENOISE) clean sample_audio out/

# --- the training and evaluation recipe (see README: "Remaking the model") ---
data:
	bash scripts/fetch_data.sh

sample-audio: data
	$(PY) scripts/make_sample_audio.py

eval-set: data
	$(PY) scripts/make_eval_set.py

train: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train \
		--out denoise_cli/assets/dns.pt --run-dir runs/dns --steps $(or $(STEPS),4000)

evaluate: eval-set
	$(PY) scripts/evaluate_heldout.py

clean-out:
	rm -rf out/
