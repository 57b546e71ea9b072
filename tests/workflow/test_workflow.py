#!/usr/bin/env python3
"""ctest `workflow`: examples/workflow/Snakefile on four simulated 1-h nights (2 subjects x before/after).

Checks: DIR/cohort.json equals `psgkit cohort M.csv --json` on the same manifest, numbers to the bit,
except each night's "path" (the workflow's cohort reads the per-night records, the direct run the EDFs); a rerun after a
deleted (failed) record and two added nights runs exactly those nights; prints the workflow's overhead
per night (Snakemake's bookkeeping on top of `psgkit stats`, CPU time of the child processes).
Usage: test_workflow.py PSGKIT SOURCE_DIR. Exit 77 (skipped) when snakemake is not installed.
"""
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

psgkit, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
snakemake = shutil.which("snakemake")
if not snakemake:
    print("SKIPPED: snakemake is not installed (make deps installs it)")
    sys.exit(77)
snakefile = os.path.join(source, "examples/workflow/Snakefile")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r


def child_cpu_s():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def simulate(folder, subject, session, seed):
    path = os.path.join(folder, f"{subject}-{session}.edf")
    run([psgkit, "simulate", "--hypnogram", os.path.join(source, f"data/demo/{session}.csv"), "--fs", "100",
         "--duration-h", "1", "--seed", str(seed), "--swa-gain", "1.3" if session == "after" else "1.0", "-o", path])
    return path


def without_paths(cohort):
    for s in cohort["subjects"]:
        for night in s["nights"].values():
            night.pop("path", None)
    return cohort


def workflow(folder, outdir, manifest, cores="2"):
    return run([snakemake, "-s", snakefile, "--cores", cores, "--config", f"manifest={manifest}",
                f"outdir={outdir}", f"psgkit={psgkit}"], cwd=folder)


with tempfile.TemporaryDirectory(prefix="psgkit-workflow-") as folder:
    manifest = os.path.join(folder, "M.csv")
    rows = [(s, session, simulate(folder, s, session, i + 1)) for i, s in enumerate(["s1", "s2"])
            for session in ("before", "after")]
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        # Age and sex reach automatic staging (model e takes them): known for s1, unknown for s2.
        demographics = {"s1": ("34", "F"), "s2": ("", "")}
        w.writerow(["subject", "session", "path", "age", "sex"])
        w.writerows([(s, session, os.path.basename(p), *demographics[s]) for s, session, p in rows])
    outdir = os.path.join(folder, "out")

    # The per-night cost alone: psgkit stats on each night, then the workflow on one core.
    cpu0 = child_cpu_s()
    for _, _, p in rows:
        run([psgkit, "stats", p, "--json", "-o", os.path.join(folder, "direct.json")])
    stats_cpu = child_cpu_s() - cpu0
    cpu0, wall0 = child_cpu_s(), time.monotonic()
    workflow(folder, outdir, manifest, cores="1")
    wf_cpu, wf_wall = child_cpu_s() - cpu0, time.monotonic() - wall0
    cpu0 = child_cpu_s()
    direct = json.loads(run([psgkit, "cohort", manifest, "--json"]).stdout)
    cohort_cpu = child_cpu_s() - cpu0
    got = json.load(open(os.path.join(outdir, "cohort.json")))
    assert without_paths(got) == without_paths(direct), "workflow cohort.json differs from psgkit cohort"
    assert os.path.getsize(os.path.join(outdir, "cohort.html")) > 1000
    print(f"workflow on {len(rows)} nights, 1 core: {wf_wall:.2f} s wall, {wf_cpu:.2f} s CPU; "
          f"psgkit stats alone {stats_cpu:.2f} s CPU, cohort alone {cohort_cpu:.2f} s CPU; "
          f"overhead {(wf_cpu - stats_cpu - cohort_cpu) / len(rows):.2f} s CPU per night")

    # Rerun: s2-after's record lost (a failed night) and a subject s3 added.
    records = {os.path.basename(p): os.stat(os.path.join(outdir, "nights", os.path.basename(p))).st_mtime_ns
               for p in os.listdir(os.path.join(outdir, "nights"))}
    os.remove(os.path.join(outdir, "nights", "s2_after.json"))
    with open(manifest, "a", newline="") as f:
        for session in ("before", "after"):
            p = simulate(folder, "s3", session, 3)
            f.write(f"s3,{session},{os.path.basename(p)},71,M\n")
    r = workflow(folder, outdir, manifest)
    log = r.stdout + r.stderr
    ran = sorted(line.split("wildcards: night=")[1].strip() for line in log.splitlines() if "wildcards: night=" in line)
    assert ran == ["s2_after", "s3_after", "s3_before"], f"rerun ran {ran}"
    for name, mtime in records.items():
        if name != "s2_after.json":
            assert os.stat(os.path.join(outdir, "nights", name)).st_mtime_ns == mtime, f"{name} was recomputed"
    got = json.load(open(os.path.join(outdir, "cohort.json")))
    assert [s["subject"] for s in got["subjects"]] == ["s1", "s2", "s3"]
    assert without_paths(got) == without_paths(json.loads(run([psgkit, "cohort", manifest, "--json"]).stdout))
    print("rerun recomputed exactly s2_after, s3_before, s3_after; cohort.json still equals psgkit cohort")
