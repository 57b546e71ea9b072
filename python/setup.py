"""Builds the psgkit Python package offline with Debian's setuptools, pybind11 and CMake.

    pip install --no-build-isolation ./python

CMake configures the whole psgkit project (library + python/ only: no CLI, tests or benchmarks) in
setuptools' build folder and builds the `psgkit_python` target straight into the package folder; the
shipped staging models are copied into psgkit/models. The version is the library's (CMakeLists.txt).
Extra CMake arguments: environment variable PSGKIT_CMAKE_ARGS (e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VERSION = re.search(r"project\(psgkit VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        package_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = Path(self.build_temp).resolve() / "cmake"
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                               "-DPSGKIT_BUILD_CLI=OFF", "-DPSGKIT_BUILD_TESTS=OFF", "-DPSGKIT_BUILD_BENCH=OFF",
                               f"-DPython_EXECUTABLE={sys.executable}", f"-DPSGKIT_PYTHON_OUTPUT_DIR={package_dir}",
                               *shlex.split(os.environ.get("PSGKIT_CMAKE_ARGS", ""))])
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "psgkit_python",
                               "-j", str(os.cpu_count() or 1)])
        models = package_dir / "models"
        models.mkdir(exist_ok=True)
        # The models and the out-of-domain reference that staging reads beside them (domain.hpp).
        for model in [*(ROOT / "data" / "models").glob("*.ubj"), ROOT / "data" / "models" / "staging-reference.json"]:
            shutil.copy2(model, models / model.name)


setup(
    name="psgkit",
    version=VERSION,
    description="Polysomnography: EDF reading, EEG features, sleep staging, sleep statistics (psgkit C++ library)",
    packages=["psgkit"],
    package_dir={"psgkit": "psgkit"},
    ext_modules=[Extension("psgkit._psgkit", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy", "pandas"],
    zip_safe=False,
)
