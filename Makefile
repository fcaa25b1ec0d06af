# Every install step lives here: `make install` builds everything from nothing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DENOISE := $(VENV)/bin/denoise

.PHONY: install test test-all browser test-browser demo data sample-audio eval-set train train-ni2 train-v2 train-ni train-augmented train-v6 train-v7 train-v7b train-v7c train-v8 train-v8c train-v9 train-v10 train-v10b train-v11 train-v11c train-v12 train-v12c train-v13 train-v14s train-v15b train-v15c train-v16 train-v16f train-v17 train-v17a train-v17b train-v17c train-v17d train-v17e train-v17f train-v17g train-v18 train-v18a train-v18b train-v18c train-v18d train-v18e train-v18f train-v18g train-v18h train-v19 train-v19a train-v19b train-v19c train-v20a train-v20b train-v21a train-v21b train-v22a train-v23a train-v23b train-v24a train-v24b train-v25a train-v25b train-v26a train-v26b train-v27a train-v27b train-v27c train-v28a train-v28c train-v30a train-v30b evaluate clean-out bench bench-short bench-long bench-train bench-gpu

install:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,eval,dask,plot]'
	$(PY) -m compileall -q denoise_cli  # an editable install gets no bytecode; where PYTHONDONTWRITEBYTECODE is set, every run would compile
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

# --- the training and evaluation recipe (see README: "The mask model", and docs/model.md) ---
data:
	bash scripts/fetch_data.sh

sample-audio: data
	$(PY) scripts/make_sample_audio.py

eval-set: data
	$(PY) scripts/make_eval_set.py

# v6 (README: "The mask model"): a run from scratch on twelve voices, augmentation with a dry
# target, the front end at over-subtraction 6 and floor 0.2, the noise profile as a second input
# and a mask allowed up to 2 (the chain caps the total gain at one); 12000 steps, about 7.3 hours
# on one thread. Rerun to resume from runs/dns-v6/last.pt. Shipped from the third 2026-11-25
# session to the fifth; v8 and v12, shipped after it, are fine-tunes of it (train-v8, train-v12).
V6_SPEAKERS ?= asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,tuxpaint_be,tuxpaint_ca,tuxpaint_da,tuxpaint_el,tuxpaint_es,tuxpaint_fr,tuxpaint_lt,tuxpaint_nl,tuxpaint_ro
# What v6 and every fine-tune of it share: data, batch, thread, floor, loss and model inputs
V6_OPTIONS = --speech-dir data/speech/train --noise-dir data/noise/train --speakers $(V6_SPEAKERS) \
	--batch-size 32 --threads 1 --spectral-floor 0.2 --under-weight 2.0 --augment --dry-target --noise-input
V6_RECIPE = $(V6_OPTIONS) --steps 12000 --seed 3 --over-subtraction 6 --mask-max 2

# The shipped checkpoint (since 2026-12-07, the twenty-seventh session): soup27, the mean of the
# weights of v25a and v27a (scripts/soup.py; v27a is v25a fine-tuned 1500 more steps without the
# three voices with the noisiest own floor, train-v27a below). Before it (from 2026-12-06, the
# twenty-fifth session): v25a (train-v25a below),
# v24b fine-tuned 1500 more steps at 7e-5 on the same 13 recorded voices (67 minutes on one
# thread beside v25b). Before it, v24b (train-v24b below), v23a fine-tuned 1500 more steps at
# 1e-4 on the same voices (68 minutes on one thread beside v24a). Before that, v23a (train-v23a below),
# v22a fine-tuned 2000 steps on the 13 recorded voices (87 minutes on one thread beside v23b).
# Before that, v22a (train-v22a below),
# v21a grown to 288 conv channels and 288 LSTM units and trained 3000 more steps (69 minutes on
# one thread). v21a is 2000 more steps of v20a, which is v19a grown to 256 conv channels and 256
# LSTM units (train-v20a, 3500 steps); v20a and v21a took about 80 and 45 minutes on one
# thread. v19a (train-v19a) is v18a fine-tuned 2000 steps through the chain's gain smoothing
# (--gain-smoothing-ms 30; every one runs at 40 ms, the clean default). v18a (train-v18a below) is a 2000-step
# fine-tune of v16f with a STOI-like term (--stoi-weight 1) and a PESQ-like term (--pesq-weight
# 0.05) in the loss and equal loss weights on removed speech and residual noise (--under-weight
# 1), on one thread; v16f is a 3000-step fine-tune of v15b
# with festival's five voices added to the speakers (runs/dns-v16f.pt), v15b a 1500-step
# fine-tune of v14s with more babble (runs/dns-v15b.pt), and v14s a run from scratch of
# V14S_RECIPE, about 5 hours on two threads of a 2-core machine (runs/dns-v14s.pt); each is
# skipped when its file is there. The three fine-tunes take 12, 21 and 24 minutes on the EPYC
# of the fourteenth to seventeenth sessions. Shipped before v18a: v17g (train-v17g), v17c, v16f, v15b,
# v14s, v12 (train-v6, then train-v12's fine-tune of it), and before that v8 (train-v8).
train: data runs/dns-v16f.pt
	bash scripts/fetch_data.sh festival
	$(MAKE) runs/dns-v25a.pt runs/dns-v27a.pt
	$(PY) scripts/soup.py denoise_cli/assets/dns.pt runs/dns-v25a.pt runs/dns-v27a.pt

# v6 into runs/dns-v6.pt, where the v8 fine-tunes start from
train-v6: data
	$(DENOISE) train $(V6_RECIPE) --out runs/dns-v6.pt --run-dir runs/dns-v6

# The checkpoint shipped before v6, ni2 (docs/model.md: "Model variants"): 6 speakers, 2000 steps, no
# augmentation, the front end at over-subtraction 1.5, the noise profile as a second input and
# a mask allowed up to 2. About 41 minutes on one thread.
SPEAKERS ?= asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,tuxpaint_ca,tuxpaint_fr,tuxpaint_ro
STEPS    ?= 2000
RECIPE = --speech-dir data/speech/train --speakers $(SPEAKERS) --noise-dir data/noise/train \
	--steps $(STEPS) --batch-size 32 --seed 0 --over-subtraction 1.5 --spectral-floor 0.2 \
	--under-weight 2.0 --no-augment

train-ni2: data
	$(DENOISE) train $(RECIPE) --threads 1 --noise-input --mask-max 2 \
		--out runs/dns-ni2.pt --run-dir runs/dns-ni2

# The variants ni2 was chosen from (docs/model.md: "Model variants"): the checkpoint shipped
# before it (v2, SHA-256 0b9ced87..., 2 threads) and the noise input
# with the mask kept below one (ni). Rerun to resume.
train-v2: data
	$(DENOISE) train $(RECIPE) --threads 2 --out runs/dns-v2.pt --run-dir runs/dns-v2

train-ni: data
	$(DENOISE) train $(RECIPE) --threads 1 --noise-input --out runs/dns-ni.pt --run-dir runs/dns-ni

# The 31 voice folders of stages 1 and 2 of scripts/fetch_data.sh (stage 3 adds five more)
ALL31_SPEAKERS = asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,klettres_ar,klettres_cs,klettres_da,klettres_de,klettres_en,klettres_en_GB,klettres_es,klettres_fr,klettres_he,klettres_hu,klettres_it,klettres_lt,klettres_ml,klettres_nb,klettres_nds,klettres_nl,klettres_pt_BR,klettres_tn,klettres_uk,tuxpaint_be,tuxpaint_ca,tuxpaint_da,tuxpaint_el,tuxpaint_es,tuxpaint_fr,tuxpaint_lt,tuxpaint_nl,tuxpaint_ro

# The augmented fine-tune of v2 that scored lower on the held-out set (docs/model.md: "Runs that
# lost"); --reverberant-target keeps that run's targets. Needs make train-v2 first.
train-augmented: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train --speakers $(ALL31_SPEAKERS) --init runs/dns-v2.pt \
		--out runs/dns-v3.pt --run-dir runs/dns-v3 --steps 4000 --batch-size 32 --seed 1 --lr 5e-4 --threads 1 \
		--over-subtraction 1.5 --spectral-floor 0.2 --under-weight 2.0 --reverberant-target

# Fine-tunes of ni2 (shipped before v6; make train-ni2 first) that lost on the held-out set (docs/model.md: "Runs
# that lost"). v7: the v6 data and front end (twelve voices, augmentation with a dry target,
# over-subtraction 6 as at inference), 57 minutes on one thread; rerun to resume from
# runs/dns-v7/last.pt.
train-v7: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train --speakers $(V6_SPEAKERS) \
		--init runs/dns-ni2.pt --out runs/dns-v7.pt --run-dir runs/dns-v7 --steps 2500 \
		--batch-size 32 --seed 4 --lr 5e-4 --threads 1 --over-subtraction 6 --spectral-floor 0.3 \
		--under-weight 2.0 --augment --dry-target --noise-input --mask-max 2

# v7b: the same over every training voice (31 folders: the twelve above plus KLettres);
# stopped at step 350.
train-v7b: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train --speakers $(ALL31_SPEAKERS) \
		--init runs/dns-ni2.pt --out runs/dns-v7b.pt --run-dir runs/dns-v7b --steps 2500 \
		--batch-size 32 --seed 5 --lr 5e-4 --threads 1 --over-subtraction 6 --spectral-floor 0.3 \
		--under-weight 2.0 --augment --dry-target --noise-input --mask-max 2

# v7c: v7 without augmentation, only the front end changes (alpha 6, floor 0.3); 51 minutes.
train-v7c: data
	$(DENOISE) train --speech-dir data/speech/train --noise-dir data/noise/train --speakers $(V6_SPEAKERS) \
		--init runs/dns-ni2.pt --out runs/dns-v7c.pt --run-dir runs/dns-v7c --steps 2500 \
		--batch-size 32 --seed 6 --lr 5e-4 --threads 1 --over-subtraction 6 --spectral-floor 0.3 \
		--under-weight 2.0 --no-augment --noise-input --mask-max 2

# Fine-tunes of v6 (runs/dns-v6.pt: make train-v6, or a copy of the v6 checkpoint shipped
# as denoise_cli/assets/dns.pt from the third 2026-11-25 session to the fifth) for 1500 steps
# at learning rate 2e-4 with cosine decay, one thread each, run side by side. v8: v6's recipe with babble
# (3-8 other training voices at once, made on the fly) as the noise of 15 % of examples;
# v8c: the same without it, to tell the babble from the extra steps. Rerun to resume.
V8_RECIPE = $(V6_OPTIONS) --init runs/dns-v6.pt --steps 1500 --seed 8 --lr 2e-4 --over-subtraction 6 --mask-max 2

train-v8: data
	$(DENOISE) train $(V8_RECIPE) --babble-share 0.15 --out runs/dns-v8.pt --run-dir runs/dns-v8

train-v8c: data
	$(DENOISE) train $(V8_RECIPE) --out runs/dns-v8c.pt --run-dir runs/dns-v8c

# v9, which lost to v8 on the held-out set: twice v8's babble, two threads, seed 9; 38 minutes.
train-v9: data
	$(DENOISE) train $(V8_RECIPE) --babble-share 0.3 --seed 9 --threads 2 --out runs/dns-v9.pt --run-dir runs/dns-v9

# Fine-tunes of v8 (make train-v8) with the mask allowed up to 5 instead of 2, which lost to
# v8 on the held-out set (docs/model.md: "Model variants"): floor 0.2 times 2 capped every bin the
# subtraction floors at 0.4, so the model could not give back speech it found there. v10
# trains at the inference front end (alpha 10), v10b at v8's (alpha 6). One thread each,
# side by side, 45 minutes; rerun to resume.
V10_RECIPE = $(V6_OPTIONS) --init runs/dns-v8.pt --steps 1200 --seed 10 --lr 3e-4 --mask-max 5 --babble-share 0.15

train-v10: data
	$(DENOISE) train $(V10_RECIPE) --over-subtraction 10 --out runs/dns-v10.pt --run-dir runs/dns-v10

train-v10b: data
	$(DENOISE) train $(V10_RECIPE) --over-subtraction 6 --out runs/dns-v10b.pt --run-dir runs/dns-v10b

# More voices (docs/model.md: "Model variants"): v8's fine-tune of v6 with five more training voices,
# Paola Dal Zot's Italian prompts (8 kHz) and flite's kal16, awb, rms and slt (stage 3 of
# scripts/fetch_data.sh), seed 11; v11c is the same run on v8's twelve voices, the control.
# One thread each, side by side, about 50 minutes; rerun to resume.
V11_SPEAKERS = $(V6_SPEAKERS),asterisk_menardi_it,flite_kal16,flite_awb,flite_rms,flite_slt

train-v11: data
	$(DENOISE) train $(V8_RECIPE) --babble-share 0.15 --seed 11 --speakers $(V11_SPEAKERS) --out runs/dns-v11.pt --run-dir runs/dns-v11

train-v11c: data
	$(DENOISE) train $(V8_RECIPE) --babble-share 0.15 --seed 11 --out runs/dns-v11c.pt --run-dir runs/dns-v11c

# The loss's weight on removed speech (--under-weight, 2 since ni2) at 1.5: v12 on v11's
# seventeen voices, v12c on v8's twelve; otherwise v11's run, seed 12. Rerun to resume.
V12_RECIPE = $(V8_RECIPE) --babble-share 0.15 --seed 12 --under-weight 1.5 --speakers $(V11_SPEAKERS)

train-v12: data
	$(DENOISE) train $(V12_RECIPE) --out runs/dns-v12.pt --run-dir runs/dns-v12

train-v12c: data
	$(DENOISE) train $(V8_RECIPE) --babble-share 0.15 --seed 12 --under-weight 1.5 --out runs/dns-v12c.pt --run-dir runs/dns-v12c

# v13, which lost to v12 on the held-out set (docs/model.md: "Runs that lost"): v6's run from scratch
# (12000 steps, seed 13, alpha 6, mask up to 2) with v12's changes: the seventeen voices, the
# loss's weight on removed speech at 1.5, and babble in 15 % of examples from the start; two
# threads (about 7 hours on this 2-core machine). Long: rerun to resume from
# runs/dns-v13/last.pt; scripts/export_run.py runs/dns-v13 OUT.pt scores it while it trains.
train-v13: data
	$(DENOISE) train $(V6_RECIPE) --seed 13 --threads 2 --under-weight 1.5 --babble-share 0.15 --speakers $(V11_SPEAKERS) --out runs/dns-v13.pt --run-dir runs/dns-v13

# v14s, shipped (make train writes it into the package): v13's run (same seed, so the same
# mixtures at every step) with half the first convolution's channels (--conv-channels 128):
# 0.68 M parameters against 1.01 M, and the net 39 % faster on one core (scripts/net_speed.py:
# 167 against 272 ms per 128 s of audio). Long: rerun to resume from runs/dns-v14s/last.pt.
V14S_RECIPE = $(V6_RECIPE) --seed 13 --threads 2 --under-weight 1.5 --babble-share 0.15 --speakers $(V11_SPEAKERS) --conv-channels 128

train-v14s: data
	$(DENOISE) train $(V14S_RECIPE) --out runs/dns-v14s.pt --run-dir runs/dns-v14s

runs/dns-v14s.pt:
	$(DENOISE) train $(V14S_RECIPE) --out runs/dns-v14s.pt --run-dir runs/dns-v14s

# v15b, shipped in the fourteenth session (v16f starts from it): a fine-tune of v14s with
# babble in 30 % of examples instead of 15 % (the benchmark's babble cells are the ones lost to ffmpeg),
# seed 15, 1500 steps at learning rate 3e-4, two threads. It was run from v14s as shipped
# (`git show adbe925:denoise_cli/assets/dns.pt > runs/dns-v14s.pt` gives those weights without
# the 5-hour run). Rerun to resume from runs/dns-v15b/last.pt.
V15B_RECIPE = $(V14S_RECIPE) --init runs/dns-v14s.pt --steps 1500 --lr 3e-4 --babble-share 0.3 --seed 15

train-v15b: data runs/dns-v14s.pt
	$(DENOISE) train $(V15B_RECIPE) --out runs/dns-v15b.pt --run-dir runs/dns-v15b

# v15c: v15b's fine-tune with babble in half of the examples (--babble-share 0.5).
train-v15c: data runs/dns-v14s.pt
	$(DENOISE) train $(V15B_RECIPE) --babble-share 0.5 --out runs/dns-v15c.pt --run-dir runs/dns-v15c

# v16: v15b fine-tuned 3000 steps more (v15b's options, learning rate 2e-4, seed 16); lost.
# (the later --init, --steps, --lr and --seed override V15B_RECIPE's).
train-v16: data runs/dns-v15b.pt
	$(DENOISE) train $(V15B_RECIPE) --init runs/dns-v15b.pt --steps 3000 --lr 2e-4 --seed 16 \
		--out runs/dns-v16.pt --run-dir runs/dns-v16

# v16f, shipped (make train writes it into the package): v16's run with festival's five voices
# added to the speakers (bash scripts/fetch_data.sh festival makes them: 12 minutes each, about
# a minute); the same seed, steps and rate, so v16 is its control. 21 minutes on the EPYC.
V16F_SPEAKERS = $(V11_SPEAKERS),festival_ked,festival_ona,festival_nsh,festival_lj,festival_dita
V16F_RECIPE = $(V15B_RECIPE) --speakers $(V16F_SPEAKERS) --init runs/dns-v15b.pt --steps 3000 --lr 2e-4 --seed 16

train-v16f: data runs/dns-v15b.pt
	bash scripts/fetch_data.sh festival
	$(DENOISE) train $(V16F_RECIPE) --out runs/dns-v16f.pt --run-dir runs/dns-v16f

# v16f fine-tuned 2000 more steps with a STOI-like envelope-correlation term in the loss
# (--stoi-weight; denoise_cli/losses.py), at four weights; one thread each, so they can run side by side
V17_RECIPE = $(V16F_RECIPE) --init runs/dns-v16f.pt --steps 2000 --seed 17 --threads 1

runs/dns-v16f.pt: | runs/dns-v15b.pt
	bash scripts/fetch_data.sh festival
	$(DENOISE) train $(V16F_RECIPE) --out runs/dns-v16f.pt --run-dir runs/dns-v16f

# their control: the same fine-tune without the term
train-v17: data runs/dns-v16f.pt
	$(DENOISE) train $(V17_RECIPE) --out runs/dns-v17.pt --run-dir runs/dns-v17

train-v17a: data runs/dns-v16f.pt
	$(DENOISE) train $(V17_RECIPE) --stoi-weight 0.05 --out runs/dns-v17a.pt --run-dir runs/dns-v17a

train-v17b: data runs/dns-v16f.pt
	$(DENOISE) train $(V17_RECIPE) --stoi-weight 0.2 --out runs/dns-v17b.pt --run-dir runs/dns-v17b

# v17c, shipped in the sixteenth session before v17g
V17C_RECIPE = $(V17_RECIPE) --stoi-weight 0.5

train-v17c: data runs/dns-v16f.pt
	$(DENOISE) train $(V17C_RECIPE) --out runs/dns-v17c.pt --run-dir runs/dns-v17c

runs/dns-v17c.pt: | runs/dns-v16f.pt
	$(DENOISE) train $(V17C_RECIPE) --out runs/dns-v17c.pt --run-dir runs/dns-v17c

train-v17d: data runs/dns-v16f.pt
	$(DENOISE) train $(V17_RECIPE) --stoi-weight 1.0 --out runs/dns-v17d.pt --run-dir runs/dns-v17d

# v17c's run with equal loss weights on removed speech and residual noise (--under-weight 1)
train-v17f: data runs/dns-v16f.pt
	$(DENOISE) train $(V17C_RECIPE) --under-weight 1.0 --out runs/dns-v17f.pt --run-dir runs/dns-v17f

# v17f at twice the term's weight (v17d's), two threads: v17g, shipped in the sixteenth session
V17G_RECIPE = $(V17_RECIPE) --stoi-weight 1.0 --under-weight 1.0 --threads 2

train-v17g: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --out runs/dns-v17g.pt --run-dir runs/dns-v17g

# v17g's run with a PESQ-like loudness-disturbance term added to the loss (--pesq-weight;
# denoise_cli/losses.py), at two weights; one thread each, so they can run side by side.
# v18a is shipped since the seventeenth session
V18A_RECIPE = $(V17G_RECIPE) --threads 1 --pesq-weight 0.05

train-v18a: data runs/dns-v16f.pt
	$(DENOISE) train $(V18A_RECIPE) --out runs/dns-v18a.pt --run-dir runs/dns-v18a

train-v18b: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --threads 1 --pesq-weight 0.15 --out runs/dns-v18b.pt --run-dir runs/dns-v18b

# the same with both terms heavier: --stoi-weight 2 and --pesq-weight 0.15 or 0.3
train-v18c: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --threads 1 --stoi-weight 2.0 --pesq-weight 0.15 --out runs/dns-v18c.pt --run-dir runs/dns-v18c

train-v18d: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --threads 1 --stoi-weight 2.0 --pesq-weight 0.3 --out runs/dns-v18d.pt --run-dir runs/dns-v18d

# and between them: --stoi-weight 2 with --pesq-weight 0.05, --stoi-weight 1.5 with --pesq-weight 0.1
train-v18e: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --threads 1 --stoi-weight 2.0 --pesq-weight 0.05 --out runs/dns-v18e.pt --run-dir runs/dns-v18e

train-v18f: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --threads 1 --stoi-weight 1.5 --pesq-weight 0.1 --out runs/dns-v18f.pt --run-dir runs/dns-v18f

# v18a's control: the same run without the PESQ-like term (v17g's, on one thread)
train-v18: data runs/dns-v16f.pt
	$(DENOISE) train $(V17G_RECIPE) --threads 1 --out runs/dns-v18.pt --run-dir runs/dns-v18

# v19a (2026-12-05): v18a fine-tuned 2000 more steps through the chain's gain smoothing and its cap
# at one (--gain-smoothing-ms 30, the clean default when it was trained; it ships with clean's
# default at 40 ms): every loss term sees the output the chain makes with the mask, not the masked input. v19 is its control, the same run without it. One
# thread each. runs/dns-v18a.pt is train-v18a's output (the checkpoint shipped since 6373c09).
V19_RECIPE = $(V18A_RECIPE) --init runs/dns-v18a.pt --seed 19

runs/dns-v18a.pt:
	$(MAKE) runs/dns-v16f.pt
	$(DENOISE) train $(V18A_RECIPE) --out runs/dns-v18a.pt --run-dir runs/dns-v18a

train-v19: data runs/dns-v18a.pt
	$(DENOISE) train $(V19_RECIPE) --out runs/dns-v19.pt --run-dir runs/dns-v19

train-v19a: data runs/dns-v18a.pt
	$(DENOISE) train $(V19_RECIPE) --gain-smoothing-ms 30 --out runs/dns-v19a.pt --run-dir runs/dns-v19a

# the same through a wider smoothing: 40 ms (v19b) and 50 ms (v19c)
train-v19b: data runs/dns-v18a.pt
	$(DENOISE) train $(V19_RECIPE) --gain-smoothing-ms 40 --out runs/dns-v19b.pt --run-dir runs/dns-v19b

train-v19c: data runs/dns-v18a.pt
	$(DENOISE) train $(V19_RECIPE) --gain-smoothing-ms 50 --out runs/dns-v19c.pt --run-dir runs/dns-v19c

# v20a/v20b (2026-12-05): v19a grown into a larger net (--init of a smaller checkpoint: the
# new channels and units start with no say in the output, model.widen_from), 256 conv channels
# and 256 LSTM units (v20a) or 192 and 192 (v20b), then 3500 steps at 3e-4, the rest as v19a.
# One thread each, side by side.
V20_RECIPE = $(V18A_RECIPE) --init runs/dns-v19a.pt --seed 20 --gain-smoothing-ms 30 --lr 3e-4 --steps 3500

runs/dns-v19a.pt:
	$(MAKE) runs/dns-v18a.pt
	$(DENOISE) train $(V19_RECIPE) --gain-smoothing-ms 30 --out runs/dns-v19a.pt --run-dir runs/dns-v19a

train-v20a: data runs/dns-v19a.pt
	$(DENOISE) train $(V20_RECIPE) --conv-channels 256 --lstm-hidden 256 --out runs/dns-v20a.pt --run-dir runs/dns-v20a

train-v20b: data runs/dns-v19a.pt
	$(DENOISE) train $(V20_RECIPE) --conv-channels 192 --lstm-hidden 192 --out runs/dns-v20b.pt --run-dir runs/dns-v20b

# v21a/v21b: v20a and v20b fine-tuned again at their own size, 2000 and 3000 steps at 2e-4, seed 21
V21_RECIPE = $(V18A_RECIPE) --seed 21 --gain-smoothing-ms 30 --lr 2e-4

runs/dns-v20a.pt:
	$(MAKE) train-v20a

runs/dns-v20b.pt:
	$(MAKE) train-v20b

train-v21a: data runs/dns-v20a.pt
	$(DENOISE) train $(V21_RECIPE) --init runs/dns-v20a.pt --conv-channels 256 --lstm-hidden 256 --steps 2000 \
		--out runs/dns-v21a.pt --run-dir runs/dns-v21a

train-v21b: data runs/dns-v20b.pt
	$(DENOISE) train $(V21_RECIPE) --init runs/dns-v20b.pt --conv-channels 192 --lstm-hidden 192 --steps 3000 \
		--out runs/dns-v21b.pt --run-dir runs/dns-v21b

# v22a (2026-12-05, twenty-second session; `make train` ends with its recipe): v21a grown again,
# to 288 conv channels and 288 LSTM units (a 9.0 MB file, under the 10 MB bound; 320 and 320
# would not fit), then 3000 steps at 2.5e-4, seed 22, the rest as v21a. One thread, 69 minutes.
V22A_RECIPE = $(V18A_RECIPE) --init runs/dns-v21a.pt --seed 22 --gain-smoothing-ms 30 --conv-channels 288 \
	--lstm-hidden 288 --lr 2.5e-4 --steps 3000

runs/dns-v21a.pt:
	$(MAKE) train-v21a

train-v22a: data runs/dns-v21a.pt
	$(DENOISE) train $(V22A_RECIPE) --out runs/dns-v22a.pt --run-dir runs/dns-v22a

# v23a: v22a fine-tuned 2000 steps at 1.5e-4, seed 23, on the thirteen recorded voices only (no
# flite or festival TTS), to test whether the synthetic voices cost PESQ on real speech such as
# asterisk_june's (docs/model.md: "Model variants": v23a, v23b). v23b is its control: the same with all
# 22 voices, seed 24. One thread each, side by side (87 and 91 minutes).
REAL13_SPEAKERS = $(V6_SPEAKERS),asterisk_menardi_it
V23_RECIPE = $(V22A_RECIPE) --init runs/dns-v22a.pt --lr 1.5e-4 --steps 2000
V23A_RECIPE = $(V23_RECIPE) --seed 23 --speakers $(REAL13_SPEAKERS)

runs/dns-v22a.pt:
	$(MAKE) train-v22a

train-v23a: data runs/dns-v22a.pt
	$(DENOISE) train $(V23A_RECIPE) --out runs/dns-v23a.pt --run-dir runs/dns-v23a

train-v23b: data runs/dns-v22a.pt
	$(DENOISE) train $(V23_RECIPE) --seed 24 --out runs/dns-v23b.pt --run-dir runs/dns-v23b

# v24a: v23a fine-tuned 1500 steps at 1e-4, seed 24, on the same thirteen recorded voices, with
# residual noise in quiet frames (30 dB or more below an example's loudest) weighted 4 times in the
# magnitude loss (--quiet-weight 4): DeepFilterNet leaves 4-14 dB less there (docs/quality.md: "Against
# other tools"). v24b, shipped, is its control: the same run without the weight. One thread each,
# side by side (68 minutes); docs/model.md: "Model variants".
V24_RECIPE = $(V23A_RECIPE) --init runs/dns-v23a.pt --lr 1e-4 --steps 1500 --seed 24
V24A_RECIPE = $(V24_RECIPE) --quiet-weight 4
V24B_RECIPE = $(V24_RECIPE)

runs/dns-v23a.pt:
	$(MAKE) train-v23a

train-v24a: data runs/dns-v23a.pt
	$(DENOISE) train $(V24A_RECIPE) --out runs/dns-v24a.pt --run-dir runs/dns-v24a

train-v24b: data runs/dns-v23a.pt
	$(DENOISE) train $(V24B_RECIPE) --out runs/dns-v24b.pt --run-dir runs/dns-v24b

# v25a: v24b fine-tuned 1500 more steps at 7e-5, seed 25, on the same thirteen recorded voices (a
# plain continuation at a lower rate). v25b: the same with more weight on the STOI-like and
# PESQ-like terms (--stoi-weight 1.5 --pesq-weight 0.08), where DeepFilterNet 3 still leads. One
# thread each, side by side; docs/model.md: "Model variants".
V25_RECIPE = $(V24B_RECIPE) --init runs/dns-v24b.pt --lr 7e-5 --steps 1500 --seed 25
V25A_RECIPE = $(V25_RECIPE)
V25B_RECIPE = $(V25_RECIPE) --stoi-weight 1.5 --pesq-weight 0.08

runs/dns-v24b.pt:
	$(MAKE) train-v24b

train-v25a: data runs/dns-v24b.pt
	$(DENOISE) train $(V25A_RECIPE) --out runs/dns-v25a.pt --run-dir runs/dns-v25a

train-v25b: data runs/dns-v24b.pt
	$(DENOISE) train $(V25B_RECIPE) --out runs/dns-v25b.pt --run-dir runs/dns-v25b

# v26a: v25a fine-tuned 1500 more steps at 7e-5, seed 26, on mixtures from -8 to 15 dB SNR instead
# of -5 to 20 (more of the low SNRs where DeepFilterNet 3 leads the benchmark by the most).
# v26b: the same at the default -5 to 20 dB (the control: a plain continuation). One thread
# each, side by side, 2026-12-07; neither beat v25a (docs/model.md: "Model variants"). runs/dns-v25a.pt is
# remade by train-v25a; it was the packaged file until soup27 (below) replaced it.
V26_RECIPE = $(V25A_RECIPE) --init runs/dns-v25a.pt --lr 7e-5 --steps 1500 --seed 26
V26A_RECIPE = $(V26_RECIPE) --snr-db-min -8 --snr-db-max 15
V26B_RECIPE = $(V26_RECIPE)

runs/dns-v25a.pt:
	$(MAKE) train-v25a

train-v26a: data runs/dns-v25a.pt
	$(DENOISE) train $(V26A_RECIPE) --out runs/dns-v26a.pt --run-dir runs/dns-v26a

train-v26b: data runs/dns-v25a.pt
	$(DENOISE) train $(V26B_RECIPE) --out runs/dns-v26b.pt --run-dir runs/dns-v26b

# v27a/v27b: v25a fine-tuned 1500 more steps at 7e-5, seed 27, without the recorded voices whose
# own noise floor is highest. A training target keeps its recording's floor, so the net learns to
# keep a floor like it; the benchmark's studio voice (June) has none, and DeepFilterNet 3 leads there.
# Floors (5th percentile of 20 ms frame power below the 99th, 60 files a voice): tuxpaint_nl -20,
# fr -28, da -28, ro -32, be -35 dB; the asterisk voices -41 to -63. v27a leaves out nl, fr and da
# (10 voices); v27b also ro and be (8 voices). v26b is their control (all 13, seed 26). None beat
# v25a on the benchmark alone; the mean of v25a and v27a (soup27, made by `make train`) did and is
# shipped (docs/model.md: "Model variants").
V27_RECIPE = $(V25A_RECIPE) --init runs/dns-v25a.pt --lr 7e-5 --steps 1500 --seed 27
V27A_SPEAKERS = asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,asterisk_menardi_it,tuxpaint_be,tuxpaint_ca,tuxpaint_el,tuxpaint_es,tuxpaint_lt,tuxpaint_ro
V27B_SPEAKERS = asterisk_allison,asterisk_carlo,asterisk_ivrvoice_ru,asterisk_menardi_it,tuxpaint_ca,tuxpaint_el,tuxpaint_es,tuxpaint_lt

runs/dns-v27a.pt:
	$(MAKE) train-v27a

train-v27a: data runs/dns-v25a.pt
	$(DENOISE) train $(V27_RECIPE) --speakers $(V27A_SPEAKERS) --out runs/dns-v27a.pt --run-dir runs/dns-v27a

train-v27b: data runs/dns-v25a.pt
	$(DENOISE) train $(V27_RECIPE) --speakers $(V27B_SPEAKERS) --out runs/dns-v27b.pt --run-dir runs/dns-v27b

# v27c: the same fine-tune on all 13 voices, the five noisiest (nl, fr, da, ro, be) cleaned first by
# the shipped chain (scripts/make_floorless_speech.py; their floors fall by 7 to 31 dB), so that
# quiet frames of every target are quiet.
FLOORLESS_VOICES = tuxpaint_nl,tuxpaint_fr,tuxpaint_da,tuxpaint_ro,tuxpaint_be
data/speech/train_floorless: data
	$(PY) scripts/make_floorless_speech.py data/speech/train $@ --voices $(FLOORLESS_VOICES)

train-v27c: data/speech/train_floorless runs/dns-v25a.pt
	$(DENOISE) train $(V27_RECIPE) --speech-dir data/speech/train_floorless --out runs/dns-v27c.pt --run-dir runs/dns-v27c

# v28a: soup27 fine-tuned 1000 more steps at 7e-5, seed 28, with the training front end of
# `denoise clean` for steady noise: examples whose profile noise spreads by under 3 dB get alpha 4
# and floor 0.12, as the chain now cleans such files (docs/model.md: "Steady noise"); the others
# alpha 6 and floor 0.2 as before. v28c is its control (the same run without the steady settings).
# One thread each, side by side; neither beat soup27 on the held-out set (docs/model.md: "Runs that lost").
V28_RECIPE = $(V25A_RECIPE) --init runs/soup27.pt --lr 7e-5 --steps 1000 --seed 28

runs/soup27.pt: runs/dns-v25a.pt runs/dns-v27a.pt
	$(PY) scripts/soup.py runs/soup27.pt runs/dns-v25a.pt runs/dns-v27a.pt

train-v28a: data runs/soup27.pt
	$(DENOISE) train $(V28_RECIPE) --steady-over-subtraction 4 --steady-floor 0.12 --out runs/dns-v28a.pt --run-dir runs/dns-v28a

train-v28c: data runs/soup27.pt
	$(DENOISE) train $(V28_RECIPE) --out runs/dns-v28c.pt --run-dir runs/dns-v28c

# v28c's recipe (soup27, 1000 steps at 7e-5, seed 28) with five KTuberling voices added to the
# thirteen recorded ones (`bash scripts/fetch_data.sh ktuberling`; the later --speakers wins)
V30_SPEAKERS = $(REAL13_SPEAKERS),ktuberling_ca,ktuberling_da,ktuberling_fr,ktuberling_lt,ktuberling_uk
train-v30a: data runs/soup27.pt
	bash scripts/fetch_data.sh ktuberling
	$(DENOISE) train $(V28_RECIPE) --speakers $(V30_SPEAKERS) --data-workers 1 --out runs/dns-v30a.pt --run-dir runs/dns-v30a

# v30a with v28a's steady front end in training (a 2 x 2 with v28a, v28c and v30a)
train-v30b: data runs/soup27.pt
	bash scripts/fetch_data.sh ktuberling
	$(DENOISE) train $(V28_RECIPE) --speakers $(V30_SPEAKERS) --steady-over-subtraction 4 --steady-floor 0.12 --out runs/dns-v30b.pt --run-dir runs/dns-v30b

# v18a with less weight on removed speech than on residual noise (--under-weight 0.8)
train-v18g: data runs/dns-v16f.pt
	$(DENOISE) train $(V18A_RECIPE) --under-weight 0.8 --out runs/dns-v18g.pt --run-dir runs/dns-v18g

# v18a at twice the learning rate (4e-4)
train-v18h: data runs/dns-v16f.pt
	$(DENOISE) train $(V18A_RECIPE) --lr 4e-4 --out runs/dns-v18h.pt --run-dir runs/dns-v18h

# v17c fine-tuned 2000 more steps with the same term, at half the learning rate
train-v17e: data runs/dns-v17c.pt
	$(DENOISE) train $(V17C_RECIPE) --init runs/dns-v17c.pt --lr 1e-4 --seed 18 \
		--out runs/dns-v17e.pt --run-dir runs/dns-v17e

runs/dns-v15b.pt: | runs/dns-v14s.pt
	$(DENOISE) train $(V15B_RECIPE) --out runs/dns-v15b.pt --run-dir runs/dns-v15b

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

# Training speed (seconds per step, with and without --data-workers); a few minutes on 2 cores
bench-train:
	$(PY) scripts/bench_train.py --json docs/bench-train.json

# On a machine with an NVIDIA GPU: make bench-short's files with --device cuda rows, held to two
# cores and on every core, make bench-long's 10-hour file, and training steps on the GPU; then
# the GPU section of docs/benchmarks.md (scripts/gpu_section.py). About 14 minutes.
bench-gpu:
	@$(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())" || { echo "make bench-gpu: torch sees no CUDA device" >&2; exit 1; }
	taskset -c 0,1 $(PY) scripts/bench.py --json docs/bench-gpu-2cores.json
	$(PY) scripts/bench.py --json docs/bench-gpu.json
	$(PY) scripts/bench.py --long --sets 10h_16k_mono --json docs/bench-gpu-long.json
	$(PY) scripts/bench_train.py --device cuda --threads 1 --workers 0,4,8 --json docs/bench-train-cuda.json
	$(PY) scripts/gpu_section.py docs/benchmarks.md
include mk/compare.mk
