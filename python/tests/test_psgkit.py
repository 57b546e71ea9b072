"""Tests of the psgkit Python package (run by ctest as python_psgkit; `make test`).

Reference values come from the psgkit CLI on the same files (same library, full-precision output parsed
exactly with float_precision="round_trip") and, for sample values, from MNE's EDF reader (independent
code). Real data is read from ../shared/data; tests that need it skip with a message when it is absent.
"""
import json
import math
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import psgkit

SOURCE = Path(os.environ.get("PSGKIT_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DATA = Path(os.environ.get("PSGKIT_SHARED_DATA", SOURCE.parent / "shared" / "data"))
CLI = os.environ.get("PSGKIT_CLI", "")
DREAMS = DATA / "dreams" / "excerpt1.edf"
DREAMS_HYPNOGRAM = DATA / "dreams" / "excerpt1.hypnogram.csv"
SLEEP_EDF = DATA / "sleep-edf" / "SC4001E0-first300s.edf"

needs_cli = pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="psgkit CLI not built (PSGKIT_CLI)")


def need(path):
    if not path.exists():
        pytest.skip(f"{path} absent (../shared/data not available)")
    return path


def cli(*args):
    return subprocess.run([CLI, *map(str, args)], check=True, capture_output=True, text=True).stdout


def read_csv(path):
    return pd.read_csv(path, float_precision="round_trip")


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Two simulated 1-h nights at 128 Hz (psgkit simulate), before and after (more N3, stronger SWA)."""
    if not CLI or not os.path.exists(CLI):
        pytest.skip("psgkit CLI not built (PSGKIT_CLI)")
    folder = tmp_path_factory.mktemp("nights")
    paths = {}
    for name, gain, seed in (("before", 1.0, 3), ("after", 1.5, 4)):
        paths[name] = folder / f"{name}.edf"
        cli("simulate", "--hypnogram", SOURCE / "data" / "demo" / f"{name}.csv", "--fs", 128, "--seed", seed,
            "--swa-gain", gain, "--duration-h", 1, "-o", paths[name])
    return paths


# ---- version, recording ----

def test_version_is_the_library_version():
    cmake = (SOURCE / "CMakeLists.txt").read_text()
    assert psgkit.__version__ == re.search(r"project\(psgkit VERSION ([0-9.]+)", cmake).group(1)
    if CLI and os.path.exists(CLI):
        assert cli("--version").strip() == f"psgkit {psgkit.__version__}"


@needs_cli
@pytest.mark.parametrize("name", ["dreams", "sleep-edf"])
def test_info_is_the_cli_json(name):
    path = need(DREAMS if name == "dreams" else SLEEP_EDF)
    rec = psgkit.read_edf(path)
    info = rec.info()
    assert info == json.loads(cli("info", "--json", path))
    signals = rec.signals
    assert list(signals.label) == [s["label"] for s in info["signals"]]
    assert list(signals.fs_hz) == [s["fs"] for s in info["signals"]]
    assert list(signals.n_samples) == [s["n_samples"] for s in info["signals"]]
    assert list(signals.columns[:6]) == ["label", "unit", "fs_hz", "n_samples", "transducer", "prefilter"]
    assert len(rec.annotations) == info["annotations"]
    assert list(rec.annotations.columns) == ["onset_s", "duration_s", "text"]
    assert rec.start.isoformat() == info["start"]
    assert rec.warnings == info["warnings"]
    assert len(rec.gaps) == len(info["gaps"]) and list(rec.gaps.columns) == ["start_s", "duration_s"]
    assert rec.duration_s == info["duration_s"]


def test_sleep_edf_annotations_and_mne_samples():
    mne = pytest.importorskip("mne")
    path = need(SLEEP_EDF)
    rec = psgkit.read_edf(path)
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    labels = [l for l, fs in zip(rec.signals.label, rec.signals.fs_hz) if fs == 100.0]
    data = rec.data(labels)
    assert data.dtype == np.float32 and data.flags.c_contiguous and data.shape == (len(labels), 30000)
    # MNE (independent EDF code): volts in float64; ours are the same values in µV rounded to float32.
    reference = raw.get_data(picks=labels) * 1e6
    np.testing.assert_allclose(data, reference, rtol=2 ** -23, atol=1e-9)
    # A time range is the same samples as the slice of the whole signal.
    part = rec.data(labels[0], start_s=12.5, stop_s=20)
    np.testing.assert_array_equal(part, data[:1, 1250:2000])


def test_data_rejects_mixed_rates_and_bad_ranges():
    rec = psgkit.read_edf(need(SLEEP_EDF))
    with pytest.raises(ValueError, match="labels"):
        rec.data()  # 100-Hz EEG and 1-Hz channels
    with pytest.raises(ValueError, match="start_s, stop_s"):
        rec.data("EEG Fpz-Cz", start_s=10, stop_s=5)
    with pytest.raises(ValueError, match="start_s, stop_s"):
        rec.data("EEG Fpz-Cz", stop_s=301)
    with pytest.raises(psgkit.Error) as e:
        rec.data("C4-M1")
    assert e.value.field == "signal 'C4-M1'" and "available" in e.value.message and e.value.file == str(SLEEP_EDF)
    with pytest.raises(TypeError, match="start_s"):
        rec.data("EEG Fpz-Cz", start_s="0")


# ---- features ----

@needs_cli
@pytest.mark.parametrize("recipe", ["default", "sleepedf-timedomain", "sleepedf-bandpower"])
def test_features_equal_the_cli(recipe, tmp_path):
    path = need(SLEEP_EDF)
    out = tmp_path / "f.csv"
    cli("features", path, "--recipe", recipe, "-o", out)
    ours = psgkit.features(path, recipe=recipe)
    if recipe == "sleepedf-timedomain":
        pd.testing.assert_frame_equal(ours, read_csv(out), check_exact=True, check_dtype=False)
    else:
        # The Welch PSDs use FFTW plans made with FFTW_MEASURE (src/signal/spectral.cpp), which may pick a
        # different algorithm in another process: last-bit differences, so not bit for bit here.
        pd.testing.assert_frame_equal(ours, read_csv(out), check_exact=False, rtol=1e-12, atol=0, check_dtype=False)


def test_features_of_an_array_equal_those_of_the_file():
    rec = psgkit.read_edf(need(DREAMS))
    label = "CZ-A1" if rec.signals.label.str.upper().eq("CZ-A1").any() else rec.signals.label[0]
    fs = float(rec.signals.set_index("label").fs_hz[label])
    from_file = psgkit.features(rec, channels=[label])
    from_array = psgkit.features(rec.data(label), fs_hz=fs, channels=[label])
    pd.testing.assert_frame_equal(from_array, from_file, check_exact=True)


# ---- staging ----

@needs_cli
@pytest.mark.parametrize("which", ["dreams", "sleep-edf", "simulated"])
def test_stage_equals_the_cli(which, tmp_path, request):
    path = need(DREAMS) if which == "dreams" else need(SLEEP_EDF) if which == "sleep-edf" \
        else request.getfixturevalue("nights")["before"]
    out = tmp_path / "s.csv"
    cli("stage", path, "-o", out)
    ours = psgkit.stage(path)
    expected = read_csv(out)
    assert list(ours.columns) == list(expected.columns)
    # p_* are float32 in the library: the CLI prints the float's shortest double text.
    pd.testing.assert_frame_equal(ours, expected, check_exact=True, check_dtype=False)
    assert ours.attrs["model"] in ("a", "b", "c", "e")


def test_mne_raw_array_stages_like_the_edf(nights):
    mne = pytest.importorskip("mne")
    rec = psgkit.read_edf(nights["before"])
    labels = list(rec.signals.label)
    fs = float(rec.signals.fs_hz[0])
    assert (rec.signals.fs_hz == fs).all()
    # Volts, as MNE holds EEG: psgkit converts back to µV (exact after float32 rounding), and the
    # 128-Hz signals are resampled from float as from the file, so the result is the file's, bit for bit.
    raw = mne.io.RawArray(rec.data().astype(np.float64) * 1e-6,
                          mne.create_info(labels, fs, ch_types="eeg"), verbose="error")
    pd.testing.assert_frame_equal(psgkit.stage(raw), psgkit.stage(rec), check_exact=True)
    # An array in µV with its labels stages the same.
    pd.testing.assert_frame_equal(psgkit.stage(rec.data(), fs_hz=fs, channels=labels), psgkit.stage(rec),
                                  check_exact=True)


def test_duck_typed_raw_without_importing_mne(nights):
    code = f"""
import sys, numpy as np, psgkit
rec = psgkit.read_edf({str(nights["before"])!r})
class Raw:  # what psgkit uses of mne.io.Raw
    ch_names = list(rec.signals.label)
    info = {{"sfreq": float(rec.signals.fs_hz[0]), "chs": [{{"unit": 107}} for _ in ch_names]}}
    def get_data(self):
        return rec.data().astype(np.float64) * 1e-6
a, b = psgkit.stage(Raw()), psgkit.stage(rec)
assert a.equals(b), "duck-typed Raw stages differently"
assert "mne" not in sys.modules, "psgkit imported mne"
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stage_with_a_model_file_equals_the_shipped_letter():
    path = need(DREAMS)
    by_letter = psgkit.stage(path, model="c")
    by_file = psgkit.stage(path, model=SOURCE / "data" / "models" / "staging-c-eeg1.ubj")
    assert by_file.attrs["model"].endswith("staging-c-eeg1.ubj") and by_letter.attrs["model"] == "c"
    pd.testing.assert_frame_equal(by_file, by_letter, check_exact=True)
    with pytest.raises(psgkit.Error):
        psgkit.stage(path, model="no-such-model.ubj")


def test_stage_of_100hz_sleep_edf_array_is_close():
    # At 100 Hz the recipe reads EDFlib's exact doubles; float32 samples differ in the last bits, and the
    # histogram entropies may move a bin: probabilities stay close, not identical.
    rec = psgkit.read_edf(need(SLEEP_EDF))
    labels = ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal"]
    from_file = psgkit.stage(rec)
    from_array = psgkit.stage(rec.data(labels), fs_hz=100, eeg=labels[:2], eog=labels[2])
    assert from_array.attrs["model"] == from_file.attrs["model"] == "a"
    assert np.abs(from_array.filter(like="p_").to_numpy() - from_file.filter(like="p_").to_numpy()).max() < 0.05


def test_threads_stage_different_files_at_once(nights):
    paths = [need(DREAMS), need(SLEEP_EDF), nights["before"], nights["after"]]
    serial = [psgkit.stage(p) for p in paths]
    results = [None] * (2 * len(paths))
    errors = []

    def work(i):
        try:
            results[i] = psgkit.stage(psgkit.read_edf(paths[i % len(paths)]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, r in enumerate(results):
        pd.testing.assert_frame_equal(r, serial[i % len(paths)], check_exact=True)


# ---- hypnograms, statistics, comparison ----

def stats_json(text):
    # The statistics are the record's keys before "transitions" (notes/workflow.md has the rest).
    out = {}
    for k, v in json.loads(text).items():
        if k == "transitions":
            return out
        out[k] = math.nan if v is None else v
    raise AssertionError("no 'transitions' key in the stats record")


def assert_same_numbers(ours, expected):
    assert list(ours) == list(expected)
    for k in expected:
        assert (math.isnan(ours[k]) and math.isnan(expected[k])) or ours[k] == expected[k], k


@needs_cli
def test_read_hypnogram_and_statistics_equal_the_cli():
    path = need(DREAMS_HYPNOGRAM)
    h = psgkit.read_hypnogram(path)
    expected = read_csv(path)
    assert len(h) == len(expected) and h.epoch_s == 30.0 and h.start_s == 0.0
    assert h.stages == list(expected.stage)
    assert_same_numbers(psgkit.sleep_statistics(h), stats_json(cli("stats", "--json", path)))
    assert_same_numbers(psgkit.sleep_statistics(path), psgkit.sleep_statistics(h))


def test_sleep_statistics_closed_form():
    # 2 W, 4 N2, 2 N3, 2 REM epochs of 30 s: TST 4 min, SOL 1 min, %N3 25, SE 80.
    stats = psgkit.sleep_statistics(["W", "W", "N2", "N2", "N2", "N2", "N3", "N3", "REM", "REM"])
    assert (stats["TIB"], stats["TST"], stats["SOL"], stats["%N3"], stats["SE"]) == (5.0, 4.0, 1.0, 25.0, 80.0)
    # YASA's integer codes mean the same.
    assert_same_numbers(psgkit.sleep_statistics(np.array([0, 0, 2, 2, 2, 2, 3, 3, 4, 4])), stats)
    with pytest.raises(ValueError, match="hypnogram"):
        psgkit.sleep_statistics([0, 7])
    with pytest.raises(TypeError, match="hypnogram"):
        psgkit.sleep_statistics(3.5)


@needs_cli
def test_stage_frame_statistics_equal_the_staging_csv(nights, tmp_path):
    staged = psgkit.stage(nights["before"])
    out = tmp_path / "s.csv"
    cli("stage", nights["before"], "-o", out)
    assert_same_numbers(psgkit.sleep_statistics(staged), stats_json(cli("stats", "--json", out)))


@needs_cli
def test_analyse_night_and_compare_equal_the_cli(nights):
    before, after = psgkit.analyse_night(nights["before"]), psgkit.analyse_night(nights["after"])
    assert before.staged_automatically and before.is_recording
    table = psgkit.compare(before, after)
    expected = json.loads(cli("compare", nights["before"], nights["after"], "--json"))["measures"]
    assert list(table.name) == [m["name"] for m in expected]
    for row, m in zip(table.itertuples(), expected):
        for key in ("before", "after", "difference", "percent_change"):
            want = math.nan if m[key] is None else m[key]
            got = getattr(row, key)
            # SWA comes from Welch PSDs whose FFTW_MEASURE plans may differ between processes (last bits).
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, rel=1e-12, abs=1e-12), \
                (row.name, key)
    assert table.deep_sleep.iloc[0] and table.name.iloc[0] == "N3"
    # Paths are analysed with the defaults.
    pd.testing.assert_frame_equal(psgkit.compare(nights["before"], nights["after"]), table)
    assert before.measures.name.tolist() == [m["name"] for m in expected]
    assert before.statistics["TIB"] == 60.0


@needs_cli
def test_cohort_equals_the_cli(tmp_path):
    # Four subjects, hypnogram files only (fast): after has one N2 epoch turned into N3 per subject.
    base = read_csv(SOURCE / "data" / "demo" / "before.csv")
    rows = []
    for s in range(4):
        for session in ("before", "after"):
            h = base.copy()
            if session == "after":
                h.loc[h.stage == "N2", "stage"] = h.loc[h.stage == "N2", "stage"].where(
                    np.arange((h.stage == "N2").sum()) % (s + 2) != 0, "N3")
            path = tmp_path / f"s{s}-{session}.csv"
            h.to_csv(path, index=False)
            rows.append({"subject": f"s{s}", "session": session, "path": path.name})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    expected = json.loads(cli("cohort", manifest, "--json"))
    result = psgkit.cohort(manifest, jobs=2)
    table = result.pop("table")
    assert result == expected
    n3 = table.set_index("measure").loc["N3"]
    assert n3.n == 4 and n3.mean_diff > 0 and n3.session == "after"
    # A DataFrame manifest (paths from the working directory) gives the same statistics.
    frame = pd.DataFrame(rows).assign(path=lambda d: [str(tmp_path / p) for p in d.path])
    assert psgkit.cohort(frame)["measures"] == expected["measures"]


@needs_cli
def test_plot_equals_the_cli_and_shows_in_jupyter(tmp_path):
    path = need(DREAMS_HYPNOGRAM)
    svg = psgkit.plot(path, title=path.name)
    assert svg == cli("plot", path)
    assert svg._repr_svg_() == svg and svg.lstrip().startswith("<svg")
    staged = psgkit.stage(need(DREAMS))
    density = psgkit.plot(staged, kind="hypnodensity")
    assert density.count('class="band') == 5
    both = psgkit.plot(path, kind="before_after", after=staged)
    assert both.count("<svg") == 3
    with pytest.raises(psgkit.Error):
        psgkit.plot(psgkit.read_hypnogram(path), kind="hypnodensity")  # no probabilities
    with pytest.raises(ValueError, match="kind"):
        psgkit.plot(path, kind="pie")
    out = tmp_path / "h.svg"
    svg.save(out)
    assert out.read_text(encoding="utf-8") == svg


# ---- errors ----

def test_errors_carry_file_field_and_message(tmp_path):
    missing = tmp_path / "missing.edf"
    with pytest.raises(psgkit.Error) as e:
        psgkit.read_edf(missing)
    assert isinstance(e.value, ValueError) and e.value.file == str(missing) and e.value.message
    assert str(e.value).startswith(str(missing))
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       " + b"x" * 300)
    with pytest.raises(psgkit.Error) as e:
        psgkit.read_edf(bad)
    assert e.value.field and e.value.file == str(bad)
    with pytest.raises(psgkit.Error):
        psgkit.read_hypnogram(bad)


def test_wrong_types_and_shapes_name_the_argument():
    with pytest.raises(TypeError, match="path"):
        psgkit.read_edf(3)
    x = np.zeros((1, 3000 * 4), dtype=np.float32)
    with pytest.raises(TypeError, match="fs_hz"):
        psgkit.stage(x, eeg=["C4-M1"])
    with pytest.raises(ValueError, match="fs_hz"):
        psgkit.stage(x, fs_hz=-100, eeg=["C4-M1"])
    with pytest.raises(ValueError, match="recording"):
        psgkit.stage(np.zeros((1, 2, 3)), fs_hz=100, eeg=["C4-M1"])
    with pytest.raises(TypeError, match="recording"):
        psgkit.stage(np.array([["a", "b"]]), fs_hz=100, eeg=["C4-M1"])
    with pytest.raises(ValueError, match="channels"):
        psgkit.features(np.zeros((2, 6000)), fs_hz=100, channels=["C4-M1"])
    with pytest.raises(TypeError, match="eeg"):
        psgkit.stage(x, fs_hz=100, eeg=[1])
    with pytest.raises(psgkit.Error) as e:
        psgkit.stage(x, fs_hz=100, eeg=["C4-M1"], model="z")  # not a letter: a model file, absent
    assert e.value.field == "model file" and e.value.file == "z"
    with pytest.raises(psgkit.Error):
        psgkit.features(np.full((1, 6000), np.nan), fs_hz=100, channels=["C4-M1"])
    with pytest.raises(ValueError, match="jobs"):
        psgkit.cohort("m.csv", jobs=0)


def test_docstrings_state_units():
    for f in (psgkit.read_edf, psgkit.features, psgkit.stage, psgkit.read_hypnogram, psgkit.sleep_statistics,
              psgkit.analyse_night, psgkit.compare, psgkit.cohort, psgkit.plot, psgkit.Recording.data):
        assert f.__doc__ and len(f.__doc__) > 200, f.__name__


# ---- README and example ----

@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    """out/demo/{before,after}.edf and data/demo/{before,after}.csv as after `make demo`, cut to 1 h."""
    if not CLI or not os.path.exists(CLI):
        pytest.skip("psgkit CLI not built (PSGKIT_CLI)")
    root = tmp_path_factory.mktemp("demo")
    (root / "out" / "demo").mkdir(parents=True)
    (root / "data" / "demo").mkdir(parents=True)
    for name, seed, gain in (("before", 7, 1.0), ("after", 8, 1.3)):
        h = read_csv(SOURCE / "data" / "demo" / f"{name}.csv")
        h = h[h.onset_s < 3600].copy()
        h["duration_s"] = np.minimum(h.duration_s, 3600 - h.onset_s)
        h.to_csv(root / "data" / "demo" / f"{name}.csv", index=False)
        cli("simulate", "--hypnogram", root / "data" / "demo" / f"{name}.csv", "--fs", 128, "--seed", seed,
            "--swa-gain", gain, "-o", root / "out" / "demo" / f"{name}.edf")
    return root


def test_readme_example_runs_as_written(demo_folder):
    readme = (SOURCE / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## From Python"):]
    code = section[section.index("```python\n") + 10:section.index("```\n", section.index("```python\n") + 10)]
    assert code.count("\n") <= 12
    result = subprocess.run([sys.executable, "-c", code], cwd=demo_folder, check=True, capture_output=True, text=True)
    assert "N3" in result.stdout


def test_compare_nights_example(demo_folder):
    svg = demo_folder / "nights.svg"
    result = subprocess.run([sys.executable, str(SOURCE / "examples" / "python" / "compare_nights.py"),
                             "out/demo/before.edf", "out/demo/after.edf", "--hypnogram-before", "data/demo/before.csv",
                             "--svg", str(svg)], cwd=demo_folder, check=True, capture_output=True, text=True)
    assert "SWA_N2N3" in result.stdout and "Lat_N3" in result.stdout
    assert svg.read_text(encoding="utf-8").count("<svg") == 3
