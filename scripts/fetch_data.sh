#!/usr/bin/env bash
# Rebuild the speech/noise data set under data/ from Debian packages (see scripts/DATA.md).
# Needs: apt-get (Debian bookworm sources), dpkg-deb, ffmpeg, unzip, and .venv/bin/python
# (numpy, soundfile). Rerunnable: existing downloads/extractions/outputs are skipped.
# data/READY is written as soon as a minimal usable set exists; the run then extends it.
set -euo pipefail
cd "$(dirname "$0")/.."
D=data
PY=${PY:-.venv/bin/python}
NPROC=$(nproc)
mkdir -p $D/debs $D/raw

SPEECH_PKGS="asterisk-core-sounds-en-g722 asterisk-core-sounds-es-g722 asterisk-core-sounds-it-g722
  asterisk-core-sounds-ru-g722 asterisk-core-sounds-fr-g722 tuxpaint-stamps-default klettres-data"
NOISE_PKGS="lincity-ng-data widelands-data supertux-data lmms-common sound-theme-freedesktop tuxpaint-data
  hedgewars-data extremetuxracer-data trigger-rally-data wesnoth-1.16-data megaglest-data xmoto-data
  frozen-bubble-data tuxtype-data hydrogen-drumkits"

fetch() {  # fetch PKG... : download .deb into data/debs and extract into data/raw/<pkg>
  for p in "$@"; do
    ls $D/debs/${p}_*.deb >/dev/null 2>&1 || (cd $D/debs && apt-get download -q "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    [ -e $D/raw/$p/.done ] || { mkdir -p $D/raw/$p && dpkg -x $D/debs/${p}_*.deb $D/raw/$p && touch $D/raw/$p/.done; }
  done
}

# conv SRC DST RATE [FMT]: decode to mono PCM16 WAV at RATE (skip if DST exists; drop if < 0.5 s)
conv() {
  local src=$1 dst=$2 rate=$3 fmt=${4:-} tmp=$2.$$.tmp
  [ -e "$dst" ] && return 0
  mkdir -p "$(dirname "$dst")"
  ffmpeg -nostdin -v error -y ${fmt:+-f $fmt} -i "$src" -ac 1 -ar "$rate" -c:a pcm_s16le \
    -map_metadata -1 -fflags +bitexact -f wav "$tmp" || { rm -f "$tmp"; return 0; }
  # 44-byte header + 2 bytes/sample: drop anything shorter than 0.5 s
  if [ "$(stat -c %s "$tmp")" -lt $((44 + rate)) ]; then rm -f "$tmp"; else mv "$tmp" "$dst"; fi
  return 0
}
export -f conv

# run_jobs: read "SRC<TAB>DST<TAB>RATE<TAB>FMT" lines on stdin, convert in parallel
run_jobs() { tr '\n' '\0' | xargs -0 -r -P "$NPROC" -I{} bash -c 'IFS=$'"'\t'"' read -r s d r f <<< "$1"; conv "$s" "$d" "$r" "$f"' _ {} || true; }

AST=usr/share/asterisk/sounds
# asterisk LANG VOICE SPLIT SPEAKER: G.722 (16 kHz wideband) prompts -> data/speech/SPLIT/SPEAKER/LANG_<path>.wav
asterisk() {
  local dir=$D/raw/asterisk-core-sounds-$1-g722/$AST/$2
  find "$dir" -name '*.g722' | sort | while read -r f; do
    r=${f#$dir/}; r=${r//\//_}; printf '%s\t%s\t16000\tg722\n' "$f" "$D/speech/$3/$4/$1_${r%.g722}.wav"; done
}
# tuxpaint LANG SPLIT SPEAKER: spoken stamp descriptions (44.1 kHz ogg)
tuxpaint() {
  local dir=$D/raw/tuxpaint-stamps-default/usr/share/tuxpaint/stamps
  find "$dir" -name "*_desc_$1.ogg" | sort | while read -r f; do
    r=${f#$dir/}; r=${r//\//_}; r=${r%.ogg}.wav
    printf '%s\t%s\t16000\t\n' "$f" "$D/speech/$2/$3/$r"
    if [ "$2" = heldout ]; then printf '%s\t%s\t44100\t\n' "$f" "$D/speech_fullband/$2/$3/$r"; fi
  done
}
# klettres LANG: spoken letters/syllables (train only)
klettres() {
  local dir=$D/raw/klettres-data/usr/share/klettres/$1
  find "$dir" -name '*.ogg' | sort | while read -r f; do
    r=${f#$dir/}; r=${r//\//_}; printf '%s\t%s\t16000\t\n' "$f" "$D/speech/train/klettres_$1/${r%.ogg}.wav"; done
}

# noise SPLIT PKG FIND-ARGS...: real noise/ambience/music -> data/noise/SPLIT/<pkg>__<name>.wav (+48 kHz for heldout)
noise() {
  local split=$1 pkg=$2; shift 2
  find $D/raw/$pkg "$@" | sort | while read -r f; do
    n=$(echo "${f%.*}" | awk -F/ '{print $(NF-2)"_"$(NF-1)"_"$NF}')  # last 3 path parts
    n=${pkg}__${n// /-}.wav
    printf '%s\t%s\t16000\t\n' "$f" "$D/noise/$split/$n"
    if [ "$split" = heldout ]; then printf '%s\t%s\t48000\t\n' "$f" "$D/noise_fullband/$split/$n"; fi
  done
}
A=(-type f \( -name '*.wav' -o -name '*.ogg' -o -name '*.oga' -o -name '*.flac' \))

# ---------- five festival voices (`bash scripts/fetch_data.sh festival`) ----------
# For v16f, the shipped model: `make train` and `make train-v16f` run this after `make data`.
if [ "${1:-}" = festival ]; then
  fetch festival libestools2.5 festlex-cmu festlex-poslex festival-ca festival-czech festvox-kdlpc16k \
    festvox-ca-ona-hts festvox-ru festvox-suopuhe-common festvox-suopuhe-lj festvox-czech-dita
  $PY scripts/make_tts_speech.py $D/raw $D/speech/train --engine festival --minutes-per-voice 12
  $PY scripts/data_tools.py manifest
  exit 0
fi

# ---------- five KTuberling voices (`bash scripts/fetch_data.sh ktuberling`) ----------
# Spoken words of the KDE game KTuberling (ktuberling-data, GPL-2+), one voice per language; the
# five with at least 2.8 minutes each (ru is left out: a held-out language). For v30a and v30b only.
KTUBERLING_LANGS="ca da fr lt uk"
if [ "${1:-}" = ktuberling ]; then
  fetch ktuberling-data
  for l in $KTUBERLING_LANGS; do
    dir=$D/raw/ktuberling-data/usr/share/ktuberling/sounds/$l
    find "$dir" \( -name '*.ogg' -o -name '*.wav' \) | sort | while read -r f; do
      r=${f#$dir/}; printf '%s\t%s\t16000\t\n' "$f" "$D/speech/train/ktuberling_$l/${r%.*}.wav"; done
  done | run_jobs
  $PY scripts/data_tools.py manifest
  exit 0
fi

# ---------- stage 1: minimal set (asterisk speech, core noise) ----------
fetch $SPEECH_PKGS
fetch $NOISE_PKGS
[ -e $D/raw/trigger-rally-data/sounds ] || unzip -q -o $D/raw/trigger-rally-data/usr/share/games/trigger-rally/data.zip 'sounds/*.wav' -x 'sounds/codriver/*' -d $D/raw/trigger-rally-data

{
  asterisk en en_US_f_Allison  train   asterisk_allison   # same voice talent records en and es
  asterisk es es_MX_f_Allison  train   asterisk_allison
  asterisk it it_IT_m_Carlo    train   asterisk_carlo
  asterisk ru ru_RU_f_IvrvoiceRU train asterisk_ivrvoice_ru
  asterisk fr fr_CA_f_June     heldout asterisk_june
} | run_jobs

{ # TRAIN noise: industry/traffic/crowd/household (lincity), workshop machines + wildlife (widelands),
  # music, rain/lava/saw (supertux), drum/bass loops (lmms), desktop sounds, stamp sound effects
  noise train lincity-ng-data "${A[@]}"
  noise train widelands-data "${A[@]}" \( -path '*/sound/*' -o -name 'ingame_0[0-4]*' \) ! -path '*/music/menu*'
  noise train supertux-data "${A[@]}" \( -path '*/sounds/*' -o -name 'forest.ogg' -o -name 'cave.ogg' -o -name 'theme.ogg' \)
  noise train lmms-common "${A[@]}" \( -path '*/beats/*' -o -path '*/bassloops/*' -o -path '*/effects/*' \)
  noise train sound-theme-freedesktop "${A[@]}"
  noise train tuxpaint-data "${A[@]}" -path '*/sounds/*'
  noise train hedgewars-data "${A[@]}" \( -path '*/Music/*' -o -path '*/Data/Sounds/*' \) ! -path '*/voices/*' \
    ! -name 'hell_*' ! -name 'Yoohoo*' ! -name 'hogchant*' ! -name 'suddendeath*' ! -name 'extratime*' ! -name 'homerun*'
  noise train extremetuxracer-data "${A[@]}"
  noise train tuxpaint-stamps-default "${A[@]}" -name '*.ogg' ! -name '*_desc*' ! -regex '.*_[a-z][a-z]\(_[A-Z][A-Z]\)?\.ogg' \
    ! -path '*/symbols/*' ! -path '*/military/*' ! -path '*/hanukkah/*' ! -path '*/alphabets/*'  # spoken words
  # HELDOUT noise: other packages only (engine/wind/gravel, ambience, rain, crowd, music)
  noise heldout trigger-rally-data -path '*/sounds/*.wav'
  noise heldout wesnoth-1.16-data "${A[@]}" -path '*/sounds/ambient/*'
  noise heldout megaglest-data "${A[@]}" -path '*/tilesets/*/sounds/*' ! -name 'good_morning*'
  noise heldout lmms-common "${A[@]}" -name 'raving_crowd01.ogg'
  noise heldout xmoto-data "${A[@]}"
  noise heldout frozen-bubble-data "${A[@]}" -name 'frozen-mainzik*'
  noise heldout tuxtype-data "${A[@]}" \( -name 'cheer.wav' -o -name 'amidst_the_raindrops.ogg' \)
} | run_jobs

$PY scripts/data_tools.py mix      # babble (per split) + click/drum-hit tracks
$PY scripts/data_tools.py manifest
touch $D/READY
echo "minimal set ready"

# ---------- stage 2: extend with more real speakers (tuxpaint, klettres) ----------
{
  tuxpaint ru heldout tuxpaint_ru   # Edwin Veber
  tuxpaint bg heldout tuxpaint_bg   # Krasimir Petkov
  for l in fr ro ca es be el da lt nl; do tuxpaint $l train tuxpaint_$l; done
  for l in ar cs da de en en_GB es fr he hu it lt ml nb nds nl pt_BR tn uk; do klettres $l; done  # (ru skipped: held-out language)
} | run_jobs
$PY scripts/data_tools.py mix

# ---------- stage 3: more training voices (v11-v13, docs/model.md: "Model variants") ----------
# Paola Dal Zot's Italian prompts (8 kHz PCM, upsampled: band-limited speech) and flite's
# four 16 kHz English voices reading the licence texts of base-files (scripts/make_tts_speech.py)
fetch asterisk-prompt-it-menardi-wav flite libflite1
M=$D/raw/asterisk-prompt-it-menardi-wav/usr/share/asterisk/sounds/it_IT_f_Menardi
find $M -name '*.wav' | sort | while read -r f; do
  r=${f#$M/}; r=${r//\//_}; printf '%s\t%s\t16000\t\n' "$f" "$D/speech/train/asterisk_menardi_it/$r"; done | run_jobs
$PY scripts/make_tts_speech.py $D/raw $D/speech/train
$PY scripts/data_tools.py manifest
echo "done: $(cat $D/MANIFEST.json | $PY -c 'import json,sys; m=json.load(sys.stdin); print({k: round(v["total_seconds"]/3600, 2) for k, v in m["splits"].items()}, "hours")')"

