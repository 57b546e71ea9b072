#!/usr/bin/env bash
# `pip install --no-build-isolation ./python` offline into a virtual environment that sees Debian's
# numpy/pandas (Debian 12's pip refuses system-wide installs, PEP 668), then import and stage from
# outside the source tree. Usage: check_pip_install.sh SOURCE_DIR WORK_DIR PYTHON   (ctest python_pip_install)
set -euo pipefail
source_dir=$1
work=$2
python=$3
rm -rf "$work/venv"
mkdir -p "$work"
"$python" -m venv --system-site-packages "$work/venv"
# ccache (when present) makes the package's own CMake build of the library mostly cache hits.
if command -v ccache >/dev/null; then export PSGKIT_CMAKE_ARGS="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi
"$work/venv/bin/pip" install --no-build-isolation --no-index --quiet "$source_dir/python"
version=$(sed -n 's/^project(psgkit VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
cd "$work"
"$work/venv/bin/python" - "$version" "$work/venv" <<'PY'
import os, sys
import numpy as np
import psgkit
version, venv = sys.argv[1:]
assert psgkit.__version__ == version, (psgkit.__version__, version)
assert psgkit.__file__.startswith(venv), psgkit.__file__
assert os.environ["PSGKIT_MODEL_DIR"].startswith(venv), "the installed package does not use its own models"
x = np.random.default_rng(0).normal(0, 20, (1, 100 * 600))
staged = psgkit.stage(x, fs_hz=100, eeg=["C4-M1"])
assert len(staged) == 20 and staged.attrs["model"] == "c"
print("installed psgkit", psgkit.__version__, "at", os.path.dirname(psgkit.__file__))
PY
