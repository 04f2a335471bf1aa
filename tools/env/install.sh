#!/usr/bin/env bash
# One-command environment for uniformer_mm: a virtualenv inside the repository with the
# tested OpenMMLab 2.0 stack (see requirements/constraints.txt for every version).
#
#   tools/env/install.sh            # or: make install
#
# Environment variables:
#   PYTHON               interpreter to build the venv from (default: python3.11, else python3)
#   UNIFORMER_MM_VENV    venv location (default: <repo>/.venv)
#   UNIFORMER_MM_CACHE   cache outside the repo for the mmcv wheel and sdists
#                        (default: ${XDG_CACHE_HOME:-$HOME/.cache}/uniformer_mm)
#   MAX_JOBS             parallel compile jobs for mmcv (default: nproc)
#
# Each step prints "==> [k/N] what"; a failure prints the step, the exit code and the tail of
# that step's log, and the full log stays in $VENV/install-logs/.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
VENV="${UNIFORMER_MM_VENV:-$ROOT/.venv}"
CACHE="${UNIFORMER_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uniformer_mm}"
if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null; then PYTHON=python3.11; else PYTHON=python3; fi
fi
TOTAL=9
STEP="start"
STEP_LOG=""
LOG_DIR="$VENV/install-logs"

pin() {  # the version pinned for package $1 in the constraints file, e.g. `pin mmcv` -> 2.1.0
  sed -n -E "s/^$1==([^ #]+).*/\1/p" "$CONSTRAINTS" | head -n1
}

on_error() {
  local rc=$?
  echo "" >&2
  echo "!! install failed in step '$STEP' (exit code $rc)." >&2
  if [[ -n "$STEP_LOG" && -f "$STEP_LOG" ]]; then
    echo "!! last lines of $STEP_LOG:" >&2
    tail -n 25 "$STEP_LOG" | sed 's/^/   | /' >&2
  fi
  exit "$rc"
}
trap on_error ERR

step() {  # step K "title": announce the step and open its log
  STEP="$2"
  STEP_LOG="$LOG_DIR/$1-$(echo "$2" | tr -cs 'A-Za-z0-9' '-' | sed 's/-$//').log"
  : >"$STEP_LOG"
  echo "==> [$1/$TOTAL] $2"
}

run() {  # run a command with its output in the step log
  echo "+ $*" >>"$STEP_LOG"
  "$@" >>"$STEP_LOG" 2>&1
}

PIP() { run "$VENV/bin/python" -m pip "$@"; }
PIPC() { PIP install -c "$CONSTRAINTS" "$@"; }

# ---------------------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV" || { echo "!! step 'virtualenv': '$PYTHON -m venv $VENV' failed" >&2; exit 1; }
fi
mkdir -p "$LOG_DIR" "$CACHE"
PYVER="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"

step 1 "virtualenv and build tools ($VENV)"
PIPC -U "pip<26" "setuptools" wheel ninja psutil

step 2 "torch $(pin torch) + torchvision $(pin torchvision) (from the local index, ~5.5 GB the first time)"
PIPC torch torchvision numpy "opencv-python"

step 3 "mmengine $(pin mmengine) and the toolboxes' pure-Python dependencies"
PIPC mmengine \
  matplotlib scipy pycocotools shapely six terminaltables tqdm \
  prettytable packaging ftfy regex \
  json-tricks munkres xtcocotools \
  einops importlib-metadata mat4py modelindex rich \
  av

step 4 "mmcv $(pin mmcv) with CPU ops (cached wheel, or a ~15 min source build)"
TORCH_VER="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
MMCV_VER="$(pin mmcv)"
# pip's wheel cache ignores which torch a wheel was compiled against; ours is keyed by it.
WHEEL_DIR="$CACHE/mmcv-wheels/mmcv-$MMCV_VER-torch-$TORCH_VER-$PYVER"
mkdir -p "$WHEEL_DIR"
if "$VENV/bin/python" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VER')" >>"$STEP_LOG" 2>&1; then
  echo "    mmcv $MMCV_VER with ops already installed"
else
  WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VER"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$WHEEL" ]]; then
    SRC_DIR="$CACHE/src"
    mkdir -p "$SRC_DIR"
    SDIST="$SRC_DIR/mmcv-$MMCV_VER.tar.gz"
    if [[ ! -f "$SDIST" ]]; then
      echo "    downloading the mmcv $MMCV_VER sdist"
      PIP download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VER" -d "$SRC_DIR"
    fi
    BUILD="$(mktemp -d)"
    run tar -xzf "$SDIST" -C "$BUILD"
    # torch 2.14's headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    run sed -i 's/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VER/setup.py"
    echo "    building mmcv $MMCV_VER from source for torch $TORCH_VER (log: $STEP_LOG)"
    START=$SECONDS
    ( while sleep 60; do echo "    ... still compiling mmcv ($(( (SECONDS - START) / 60 )) min)"; done ) &
    BEAT=$!
    trap 'kill $BEAT 2>/dev/null || true; on_error' ERR
    (cd "$BUILD/mmcv-$MMCV_VER" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      run "$VENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$WHEEL_DIR" .)
    kill $BEAT 2>/dev/null || true
    trap on_error ERR
    rm -rf "$BUILD"
    WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VER"-*.whl | head -n1)"
    echo "    built $(basename "$WHEEL") in $(( (SECONDS - START) / 60 )) min, cached in $WHEEL_DIR"
  else
    echo "    using the cached wheel $WHEEL"
  fi
  PIP install --no-deps --force-reinstall "$WHEEL"
fi
run "$VENV/bin/python" -c "import mmcv.ops; from mmcv.ops import nms, RoIAlign; print('mmcv ops OK')"

step 5 "mmdet, mmsegmentation, mmpretrain (their dependencies came in step 3)"
PIPC --no-deps mmdet mmsegmentation mmpretrain

step 6 "mmpose $(pin mmpose) without chumpy (listed as a requirement, never imported, does not build)"
PIPC --no-deps mmpose
# RTMPose configs augment with albumentations (mmpose's Albumentation transform). Its wheels
# require opencv-python-headless, a second cv2 over our opencv-python: install them without
# dependencies, then their pure dependencies.
PIPC --no-deps albumentations albucore
PIPC pydantic stringzilla simsimd
run "$VENV/bin/python" -c "import albumentations"

step 7 "mmaction2 $(pin mmaction2), its missing localizers/drn package, decord and pytorchvideo"
PIPC --no-deps mmaction2
# The PyPI wheel (and the sdist) omit mmaction/models/localizers/drn: the folder has no
# __init__.py, so find_packages skipped it, and `import mmaction.models` fails for every model
# (mmaction2 #2714). The DRN sources exist only in the git repository, so install a package
# that keeps `DRN` importable and registered and, when built, says how to get the real one.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
DRN="$SITE/mmaction/models/localizers/drn"
if [[ ! -f "$DRN/__init__.py" ]]; then
  mkdir -p "$DRN"
  : >"$DRN/__init__.py"
  cp "$ROOT/tools/env/mmaction_drn_placeholder.py" "$DRN/drn.py"
fi
run "$VENV/bin/python" -c "import mmaction.models"
# The paper configs read videos with decord and train with pytorchvideo's RandAugment (through
# mmaction2's PytorchVideoWrapper). pytorchvideo 0.1.5 imports a torchvision module that
# torchvision 0.17 made private; uniformer_mm.compat serves it under the old name.
PIPC decord pytorchvideo
run "$VENV/bin/python" -c "import uniformer_mm, decord, pytorchvideo.transforms"

step 8 "uniformer_mm (editable), deployment (onnx, onnxscript, onnxruntime) and the test tools"
PIPC -e "$ROOT" onnx onnxscript onnxruntime pytest pytest-timeout pytest-xdist

step 9 "check: every toolbox's models package imports"
run "$VENV/bin/python" - <<'PY'
import importlib
for name in ['mmcv.ops', 'mmdet.models', 'mmseg.models', 'mmpose.models', 'mmaction.models',
             'mmpretrain.models', 'uniformer_mm', 'onnxscript', 'onnxruntime']:
    importlib.import_module(name)
    print('imported', name)
PY
run "$VENV/bin/python" "$ROOT/tools/misc/collect_env.py"
echo "==> done: $VENV ($(( SECONDS / 60 )) min $(( SECONDS % 60 )) s). Activate it with 'source $VENV/bin/activate'."
