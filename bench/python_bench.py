#!/usr/bin/env python3
"""Timings of the Python package against MNE and the CLI, interleaved in one run (`make bench`).

    PYTHONPATH=build/python python3 bench/python_bench.py NIGHT.edf build/psgkit OUT.json [RUNS]

1. psgkit.read_edf(p).data() against mne.io.read_raw_edf(p, preload=True).get_data() (all signals; the
   values must agree within float32 rounding: psgkit returns float32 µV, MNE float64 volts).
2. psgkit.stage(p) inside this Python process against the CLI's whole process `psgkit stage p`
   (stdout to /dev/null). Runs alternate between the two contestants so that drift of a shared
   machine hits both; medians of wall time and CPU time (process CPU for Python, child CPU for the CLI).
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

import psgkit


def timed(f):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    f()
    wall = time.perf_counter() - t
    u2, c2 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (u2.ru_utime + u2.ru_stime - usage.ru_utime - usage.ru_stime) + \
          (c2.ru_utime + c2.ru_stime - children.ru_utime - children.ru_stime)
    return wall, cpu


def interleaved(a, b, runs):
    a(), b()  # warm-up: page cache, imports, FFTW plans
    times = {"a": [], "b": []}
    for _ in range(runs):
        times["a"].append(timed(a))
        times["b"].append(timed(b))
    return {k: {"wall_s": statistics.median(w for w, _ in v), "cpu_s": statistics.median(c for _, c in v)}
            for k, v in times.items()}


def main():
    night, cli, out = sys.argv[1:4]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    import mne

    ours = psgkit.read_edf(night).data()
    raw = mne.io.read_raw_edf(night, preload=True, verbose="error")
    theirs = raw.get_data() * 1e6
    max_ulps = float(np.max(np.abs(ours - theirs) / np.maximum(np.spacing(np.abs(ours)), 1e-30)))
    assert np.allclose(ours, theirs, rtol=2 ** -23, atol=1e-9), "psgkit and MNE disagree beyond float32 rounding"
    read = interleaved(lambda: psgkit.read_edf(night).data(),
                       lambda: mne.io.read_raw_edf(night, preload=True, verbose="error").get_data(), runs)
    with open(os.devnull, "wb") as devnull:
        stage = interleaved(lambda: psgkit.stage(night),
                            lambda: subprocess.run([cli, "stage", night], stdout=devnull, check=True), runs)
    result = {
        "night": night, "runs": runs, "shape": list(ours.shape),
        "data_vs_mne": {"psgkit": read["a"], "mne": read["b"], "max_difference_float32_ulps": max_ulps,
                        "speedup_wall": read["b"]["wall_s"] / read["a"]["wall_s"],
                        "speedup_cpu": read["b"]["cpu_s"] / read["a"]["cpu_s"]},
        "stage_vs_cli": {"python": stage["a"], "cli_process": stage["b"],
                         "ratio_wall": stage["a"]["wall_s"] / stage["b"]["wall_s"],
                         "ratio_cpu": stage["a"]["cpu_s"] / stage["b"]["cpu_s"]},
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    d, s = result["data_vs_mne"], result["stage_vs_cli"]
    print(f"read_edf().data(): {d['psgkit']['wall_s'] * 1e3:.1f} ms vs MNE {d['mne']['wall_s'] * 1e3:.1f} ms wall "
          f"({d['speedup_wall']:.1f}x; CPU {d['speedup_cpu']:.1f}x; target >= 10x), max |diff| {max_ulps:.2f} float32 ulp")
    print(f"stage(): Python {s['python']['wall_s'] * 1e3:.1f} ms vs CLI process {s['cli_process']['wall_s'] * 1e3:.1f} ms "
          f"wall (ratio {s['ratio_wall']:.2f}; CPU ratio {s['ratio_cpu']:.2f}; target <= 1.2)")


if __name__ == "__main__":
    main()
