# Every install step lives here: `make install` builds everything from nothing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DENOISE := $(VENV)/bin/denoise

.PHONY: install test test-all browser test-browser demo data sample-audio eval-set train train-augmented train-v5 train-ni train-ni2 evaluate clean-out bench bench-short bench-long

install:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,eval,dask,plot]'
	$(DENOISE) --version

test:
	$(PY) -m pytest -q -m "not slow and not cuda and not browser"

test-all:
	$(PY) -m pytest -q

# The run page's tests need a real browser: Debian's chromium (apt-get: needs root) and Playwright,
# which drives that binary (no browser download).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)
	$(PY) -m pip install --quiet -e '.[browser]'

test-browser:
	$(PY) -m pytest -q -m browser -rs

demo:
	$(DENOISE) clean sample_audio out/ --plot --labels audacity --labels vtt
	$(DENOISE) report out/

# --- the training and evaluation recipe (see README: "Remaking the model") ---
data:
	bash scripts/fetch_data.sh

sample-audio: data
	$(PY) scripts/make_sample_audio.py

eval-set: data
	$(PY) scripts/make_eval_set.py

# The speakers and steps of the shipped checkpoint (see README: "The mask model"). It was
# trained before augmentation existed and with over-subtraction 1.5: both are now spelled out.
SPEAKERS ?= asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,tuxpaint_ca,tuxpaint_fr,tuxpaint_ro
STEPS    ?= 2000

train: data
	$(DENOISE) train --speech-dir data/speech/train --speakers $(SPEAKERS) --noise-dir data/noise/train \
		--out denoise_cli/assets/dns.pt --run-dir runs/dns --steps $(STEPS) --batch-size 32 --seed 0 --threads 2 \
		--over-subtraction 1.5 --spectral-floor 0.2 --under-weight 2.0 --no-augment

# The augmented fine-tune that scored lower on the held-out set (README: "Runs that lost").
# --init is the shipped checkpoint; --reverberant-target keeps that run's targets.
train-augmented: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train --init denoise_cli/assets/dns.pt \
		--out runs/dns-v3.pt --run-dir runs/dns-v3 --steps 4000 --batch-size 32 --seed 1 --lr 5e-4 --threads 1 \
		--over-subtraction 1.5 --spectral-floor 0.2 --under-weight 2.0 --reverberant-target

# A longer run from scratch (README "Runs that lost": what is left to try): twelve voices,
# augmentation with a dry target, the inference front end (over-subtraction 6). Hours on
# 2 CPU cores: rerun the same command to resume from runs/dns-v5/last.pt.
V5_SPEAKERS ?= asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,tuxpaint_be,tuxpaint_ca,tuxpaint_da,tuxpaint_el,tuxpaint_es,tuxpaint_fr,tuxpaint_lt,tuxpaint_nl,tuxpaint_ro

train-v5: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train --speakers $(V5_SPEAKERS) \
		--out runs/dns-v5.pt --run-dir runs/dns-v5 --steps 12000 --batch-size 32 --seed 3 --threads 1 \
		--over-subtraction 6 --spectral-floor 0.2 --under-weight 2.0 --augment --dry-target

# Model variants against the shipped recipe (README: "Model variants"): the same speakers,
# steps and front end, one thread each (run side by side), plus the noise profile as a
# second input (ni), and also a mask allowed up to 2 (ni2). Rerun to resume.
VARIANT_RECIPE = --speech-dir data/speech/train --speakers $(SPEAKERS) --noise-dir data/noise/train \
	--steps $(STEPS) --batch-size 32 --seed 0 --threads 1 --over-subtraction 1.5 --spectral-floor 0.2 \
	--under-weight 2.0 --no-augment

train-ni: data
	$(DENOISE) train $(VARIANT_RECIPE) --noise-input --out runs/dns-ni.pt --run-dir runs/dns-ni

train-ni2: data
	$(DENOISE) train $(VARIANT_RECIPE) --noise-input --mask-max 2 --out runs/dns-ni2.pt --run-dir runs/dns-ni2

# Held-out scores: noisy input, spectral subtraction alone, the full chain.
evaluate: eval-set
	$(DENOISE) clean data/eval/noisy out/eval/spectral --no-dns --overwrite --quiet
	$(DENOISE) clean data/eval/noisy out/eval/full --overwrite --quiet
	$(DENOISE) eval data/eval/clean out/eval/spectral out/eval/full --noisy data/eval/noisy \
		--index data/eval/index.json --out docs/heldout.json --pesq

clean-out:
	rm -rf out/

# --- benchmarks (figures, not tests) ---
# make bench: short and 10-minute files (throughput, stage shares), then the 3-hour
# 48 kHz stereo and 10-hour 16 kHz mono files (peak memory); about 30 minutes.
bench: bench-short bench-long

bench-short:
	$(PY) scripts/bench.py --json docs/bench.json $(if $(wildcard $(PEERS_PY)),--peers-python $(PEERS_PY))

bench-long:
	$(PY) scripts/bench.py --long --json docs/bench-long.json
include mk/compare.mk
