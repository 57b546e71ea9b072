"""psgkit from Python: polysomnography with numpy and pandas.

A thin binding over the psgkit C++ library (the same code as the ``psgkit`` command line): read
EDF/EDF+/BDF recordings, per-epoch EEG features, automatic sleep staging (W/N1/N2/N3/REM per 30-s
epoch with probabilities), sleep statistics (YASA-compatible names plus clinical ones), and
before/after and cohort comparison of deep sleep.

Units are the library's: EEG in microvolts (µV), times in seconds (``_s``), rates in Hz (``_hz``),
durations of sleep statistics in minutes. Errors in the input raise :class:`psgkit.Error`, a
``ValueError`` carrying ``.file``, ``.field`` and ``.message``; arguments of the wrong type or shape
raise ``TypeError``/``ValueError`` naming the argument. Every call that reads or computes releases the
GIL, so threads may read and stage different files at once.
"""

import json
import math
import os
import tempfile
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

# Models shipped inside an installed package (setup.py copies them here); the build tree's library
# finds them in the source tree itself. An explicit $PSGKIT_MODEL_DIR always wins.
_MODELS = os.path.join(os.path.dirname(__file__), "models")
if os.path.isdir(_MODELS):
    os.environ.setdefault("PSGKIT_MODEL_DIR", _MODELS)

from . import _psgkit  # noqa: E402
from ._psgkit import Error, Hypnogram  # noqa: E402

__version__ = _psgkit.__version__
__all__ = ["Error", "Hypnogram", "Night", "Recording", "Svg", "analyse_night", "cohort", "compare", "features",
           "plot", "read_edf", "read_hypnogram", "sleep_statistics", "stage", "__version__"]

STAGES = ("W", "N1", "N2", "N3", "REM")
_FIFF_UNIT_V = 107  # MNE's unit code of volts (mne.io.constants.FIFF.FIFF_UNIT_V)


def _path(value, name):
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise TypeError(f"{name}: expected a file path (str or os.PathLike), got {type(value).__name__}")


def _labels(value, name):
    """None, one label or a sequence of labels -> list of str."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        labels = list(value)
    except TypeError:
        raise TypeError(f"{name}: expected a label or a list of labels, got {type(value).__name__}") from None
    for label in labels:
        if not isinstance(label, str):
            raise TypeError(f"{name}: labels must be str, got {type(label).__name__}")
    return labels


def _number(value, name, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name}: expected a {'positive ' if positive else ''}finite number, got {value}")
    return value


class Recording:
    """An open EDF/EDF+/BDF recording (see :func:`read_edf`). Samples are read on demand."""

    def __init__(self, native):
        self._r = native

    def __repr__(self):
        return f"<psgkit.Recording {self.path!r}: {self._r.file_type}, {len(self._r.signal_list())} signals, {self.duration_s:g} s>"

    @property
    def path(self):
        """The file path (str)."""
        return os.fspath(self._r.path)

    @property
    def file_type(self):
        """"EDF", "EDF+C", "EDF+D", "BDF", "BDF+C" or "BDF+D"."""
        return self._r.file_type

    @property
    def duration_s(self):
        """Time span covered in seconds, from the start to the end of the last data record (gaps included)."""
        return self._r.duration_s

    @property
    def signals(self):
        """DataFrame, one row per ordinary signal (EDF+ annotation channels excluded): label, unit (of the
        values psgkit returns: "uV" for V/mV/µV), fs_hz, n_samples, transducer, prefilter, file_unit."""
        return pd.DataFrame(self._r.signal_list(),
                            columns=["label", "unit", "fs_hz", "n_samples", "transducer", "prefilter", "file_unit"])

    @property
    def annotations(self):
        """DataFrame of the EDF+ annotations: onset_s (from the recording start), duration_s (-1 when the
        annotation has none) and text (UTF-8)."""
        onset, duration, text = self._r.annotation_columns()
        return pd.DataFrame({"onset_s": onset, "duration_s": duration, "text": pd.Series(text, dtype=object)})

    @property
    def start(self):
        """Start date-time of the recording as written in the header (naive datetime, EDF+ sub-second part
        included to the microsecond)."""
        year, month, day, hour, minute, second, subsecond = self._r.start_fields
        return datetime(year, month, day, hour, minute, second) + timedelta(seconds=subsecond)

    @property
    def gaps(self):
        """DataFrame of the missing stretches between data records (EDF+D only): start_s, duration_s."""
        return pd.DataFrame(self._r.gap_list(), columns=["start_s", "duration_s"], dtype=float)

    @property
    def warnings(self):
        """One str per deviation from the EDF/EDF+ specification that was tolerated while reading."""
        return list(self._r.warnings)

    def info(self):
        """The dict ``psgkit info --json FILE`` prints (header, signals, annotation count, gaps, warnings)."""
        return json.loads(self._r.info_json())

    def data(self, labels=None, start_s=None, stop_s=None):
        """Samples as a float32 array (channels × samples), EEG in µV (other signals in ``signals.unit``).

        labels: a label, a list of labels (case-insensitive), or None for every signal. The chosen
            signals must share one sampling rate and length (Sleep-EDF's 1-Hz channels differ from its
            100-Hz EEG: choose labels then).
        start_s, stop_s: seconds from the recording start (default 0 and the end); converted to samples
            with round(t · fs_hz). For EDF+D files the samples of all records are concatenated (see gaps).
        Values are EDFlib's physical values (``value = bitvalue · (offset + digital)``, Kemp et al. 1992)
        rounded to float32; the library decodes directly into the returned array (one write, no copy).
        """
        table = self._r.signal_list()
        if labels is None:
            indices = list(range(len(table)))
        else:
            indices = [self._r.require_signal(label) for label in _labels(labels, "labels")]
        if not indices:
            raise ValueError("labels: no signal chosen")
        rates = {table[i]["fs_hz"] for i in indices}
        lengths = {table[i]["n_samples"] for i in indices}
        if len(rates) > 1 or len(lengths) > 1:
            detail = ", ".join(f"{table[i]['label']} {table[i]['fs_hz']:g} Hz" for i in indices)
            raise ValueError(f"labels: the signals differ in rate or length ({detail}); choose signals of one rate")
        fs_hz, n = rates.pop(), lengths.pop()
        first = 0 if start_s is None else round(_number(start_s, "start_s") * fs_hz)
        stop = n if stop_s is None else round(_number(stop_s, "stop_s") * fs_hz)
        if not 0 <= first < stop <= n:
            raise ValueError(f"start_s, stop_s: [{start_s}, {stop_s}) s is not a non-empty range within the "
                             f"{n / fs_hz:g}-s signal")
        return self._r.read_rows(indices, first, stop - first)


def read_edf(path):
    """Open an EDF, EDF+C, EDF+D, BDF, BDF+C or BDF+D recording and parse its header.

    Files are opened through EDFlib when it accepts them, else through psgkit's tolerant parser, which
    records one warning per deviation from the EDF specification (Kemp et al. 1992; Kemp & Olivan 2003
    for EDF+); see ``Recording.warnings``. Samples are read on demand (``Recording.data``). Raises
    psgkit.Error naming the file, field or byte offset and what was wrong.
    """
    return Recording(_psgkit.Recording.open(_path(path, "path")))


def _signals_of_array(data, fs_hz, channels, name):
    """(label, fs_hz, float64 µV array) triples from a 1-D or channels × samples array."""
    array = np.asarray(data)
    if array.dtype.kind not in "fiu" or array.dtype.kind == "b":
        raise TypeError(f"{name}: expected a float array of samples in µV, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(f"{name}: expected a 1-D array or a 2-D array (channels × samples), got shape {array.shape}")
    if fs_hz is None:
        raise TypeError(f"fs_hz: needed with an array {name}")
    fs_hz = _number(fs_hz, "fs_hz", positive=True)
    labels = _labels(channels, "channels")
    if not labels:
        raise TypeError("channels: needed with an array: one label per row (e.g. ['C4-M1'])")
    if len(labels) != array.shape[0]:
        raise ValueError(f"channels: {len(labels)} labels for {array.shape[0]} rows of {name}")
    return [(label, fs_hz, np.ascontiguousarray(row, dtype=np.float64)) for label, row in zip(labels, array)]


def _is_mne_raw(obj):
    return hasattr(obj, "get_data") and hasattr(obj, "info") and hasattr(obj, "ch_names")


def _signals_of_raw(raw):
    """(label, fs_hz, µV array) triples of an MNE Raw, duck-typed (mne is never imported): volts -> µV."""
    fs_hz = _number(raw.info["sfreq"], "raw.info['sfreq']", positive=True)
    data = np.asarray(raw.get_data(), dtype=np.float64)
    signals = []
    for i, label in enumerate(raw.ch_names):
        unit = raw.info["chs"][i].get("unit") if "chs" in raw.info else _FIFF_UNIT_V
        row = data[i] * 1e6 if int(unit) == _FIFF_UNIT_V else data[i]
        signals.append((label, fs_hz, np.ascontiguousarray(row)))
    return signals


def _feature_frame(result):
    frame = pd.DataFrame(result["values"], columns=result["columns"])
    frame.insert(0, "onset_s", result["onset_s"])
    frame.attrs["notes"] = result["notes"]
    return frame


def features(recording, fs_hz=None, channels=None, recipe="default", epoch_s=30.0):
    """Per-epoch EEG features as a DataFrame: ``onset_s`` (seconds from the first sample) then the columns
    of ``psgkit features`` (``<channel prefix>_<feature>``, units in the names).

    recording: a Recording, a path, an MNE Raw (duck-typed; volts converted to µV), or an array of µV
        samples (1-D, or channels × samples) with fs_hz and channels (one label per row).
    channels: labels to use (default for recordings: the EEG channels picked by label, as the CLI does).
    recipe: "default" (band powers with Simpson's rule over a Welch PSD of 4-s Hann segments, 50 %
        overlap — YASA's bandpower convention, Vallat & Walker 2021 — spectral edge, entropy, aperiodic
        slope, Hjorth 1970 parameters, moments, inter-percentile range), "sleepedf-bandpower" or
        "sleepedf-timedomain" (the Sleep-EDF feature dumps' recipes, on 30-s epochs at 100 Hz; other
        rates are resampled first).
    epoch_s: epoch length in seconds (default 30; the Sleep-EDF recipes need 30).
    Notes (resampling, a dropped partial epoch, bands above Nyquist) are in ``frame.attrs["notes"]``.
    """
    if not isinstance(recipe, str):
        raise TypeError(f"recipe: expected str, got {type(recipe).__name__}")
    epoch_s = _number(epoch_s, "epoch_s", positive=True)
    if recipe != "default" and epoch_s != 30.0:
        raise ValueError("epoch_s: the Sleep-EDF recipes are defined on 30-s epochs")
    if isinstance(recording, (str, os.PathLike)):
        recording = read_edf(recording)
    if isinstance(recording, Recording):
        labels = _labels(channels, "channels") or _psgkit.pick_feature_channels(recording._r, recipe)
        return _feature_frame(_psgkit.features_recording(recording._r, labels, recipe, epoch_s))
    if _is_mne_raw(recording):
        signals = _signals_of_raw(recording)
        if channels is not None:
            wanted = _labels(channels, "channels")
            signals = [s for s in signals if s[0] in wanted]
    else:
        signals = _signals_of_array(recording, fs_hz, channels, "recording")
    return _feature_frame(_psgkit.features_signals(signals, recipe, epoch_s))


def stage(recording, fs_hz=None, eeg=None, eog=None, model=None, hmm=True, channels=None):
    """Automatic sleep staging, one row per 30-s epoch: DataFrame with columns epoch, onset_s, stage
    ("W", "N1", "N2", "N3", "REM"), confidence (the largest probability) and p_W, p_N1, p_N2, p_N3,
    p_REM (float32 values; rows sum to 1) — the CSV of ``psgkit stage``.

    recording: a Recording, a path, an MNE Raw (duck-typed: get_data(), info['sfreq'], ch_names; signals
        in volts are converted to µV), or an array of µV samples (1-D, or channels × samples) with fs_hz
        and channels naming its rows.
    eeg: EEG label(s) (default: picked by label — Fpz-Cz/Pz-Oz, then C4-M1, C3-M2, ...).
    eog: EOG label (default: picked by label, none if absent).
    channels: labels of an array's rows (default: the eeg labels, then eog if given); eeg and eog then
        choose among them as in a recording.
    model: "a" (Fpz-Cz + Pz-Oz + EOG), "b" (Fpz-Cz + Pz-Oz), "c" (1 EEG), "e" (1 EEG + EOG), or the path
        of a model file from ``psgkit train --manifest``; default from the channels found.
    hmm: smooth with the HMM (default True); False gives the raw classifier probabilities.
    Method: the Sleep-EDF time-domain recipe at 100 Hz, per-recording robust normalisation, ±7.5-min
    context as in YASA (Vallat & Walker, eLife 2021), gradient-boosted trees (Chen & Guestrin 2016) and
    an HMM forward-backward pass (Rabiner 1989). ``frame.attrs`` holds eeg, eog and model used.
    """
    eeg_labels = _labels(eeg, "eeg")
    if eog is not None and not isinstance(eog, str):
        raise TypeError(f"eog: expected a label (str), got {type(eog).__name__}")
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if model is not None and not isinstance(model, str):
        raise TypeError(f"model: expected 'a', 'b', 'c', 'e' or a model file, got {type(model).__name__}")
    if isinstance(recording, (str, os.PathLike)):
        recording = read_edf(recording)
    if isinstance(recording, Recording):
        result = _psgkit.stage_recording(recording._r, eeg_labels, eog or "", model, bool(hmm))
    else:
        if _is_mne_raw(recording):
            signals = _signals_of_raw(recording)
        else:
            rows = _labels(channels, "channels") or eeg_labels + ([eog] if eog else [])
            signals = _signals_of_array(recording, fs_hz, rows, "recording")
        result = _psgkit.stage_signals(signals, eeg_labels, eog or "", model, bool(hmm))
    p = result["p"]
    frame = pd.DataFrame({"epoch": np.asarray(result["epoch"], dtype=np.int64), "onset_s": result["onset_s"],
                          "stage": pd.Series(result["stage"], dtype=object), "confidence": p.max(axis=1)})
    for k, name in enumerate(STAGES):
        frame["p_" + name] = p[:, k]
    frame.attrs.update(eeg=result["eeg"], eog=result["eog"], model=result["model"])
    return frame


def read_hypnogram(path, epoch_s=30.0):
    """Read a hypnogram: EDF+ annotation file, interval CSV ``onset_s,duration_s,stage``, staging CSV
    (``psgkit stage`` output) or DREAMS 5-s text, detected from the content; R&K S3/S4 map to N3.
    epoch_s: epoch length of the result in seconds (default 30). Returns a psgkit.Hypnogram (stages,
    probabilities, epoch_s, start_s, events). Raises psgkit.Error.
    """
    return _psgkit.read_hypnogram(_path(path, "path"), _number(epoch_s, "epoch_s", positive=True))


_YASA_CODES = {0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "REM", -1: "UNS", -2: "UNS"}


def _hypnogram(value, epoch_s=30.0, name="hypnogram"):
    """A psgkit.Hypnogram from a Hypnogram, a Night, a path, a stage() DataFrame or a sequence of stages
    (labels, or YASA's integer codes 0=W, 1=N1, 2=N2, 3=N3, 4=REM, -1/-2 unscored)."""
    if isinstance(value, Hypnogram):
        return value
    if isinstance(value, Night):
        return value.hypnogram
    if isinstance(value, (str, os.PathLike)):
        return read_hypnogram(value, epoch_s)
    if isinstance(value, pd.DataFrame):
        missing = [c for c in ["onset_s", "stage"] + ["p_" + s for s in STAGES] if c not in value.columns]
        if missing:
            raise ValueError(f"{name}: a DataFrame needs the columns of psgkit.stage(); missing {missing}")
        p = np.ascontiguousarray(value[["p_" + s for s in STAGES]].to_numpy(dtype=np.float32))
        return _psgkit.hypnogram_of_staging(value["onset_s"].to_numpy(dtype=float).tolist(),
                                            [str(s) for s in value["stage"]], p)
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        labels = []
        for v in value:
            if isinstance(v, str):
                labels.append(v)
            elif isinstance(v, (int, np.integer)) and int(v) in _YASA_CODES:
                labels.append(_YASA_CODES[int(v)])
            else:
                raise ValueError(f"{name}: {v!r} is not a stage label or a YASA stage code (-2..4)")
        h = Hypnogram()
        h.epoch_s = _number(epoch_s, "epoch_s", positive=True)
        h.stages = labels
        return h
    raise TypeError(f"{name}: expected a psgkit.Hypnogram, Night, path, stage() DataFrame or sequence of stages, "
                    f"got {type(value).__name__}")


def sleep_statistics(hypnogram, epoch_s=30.0, lights_off_s=None, lights_on_s=None):
    """Sleep statistics of a hypnogram as a dict, in psgkit's documented order: the YASA keys (TIB, SPT,
    WASO, TST, N1, N2, N3, REM, NREM, SOL, Lat_N1..Lat_REM, %N1..%NREM, SE, SME; yasa.sleep_statistics of
    YASA 0.7) and SOL_5min, SFI (YASA 0.8), then the clinical ones (SOL_persistent, Lat_REM_onset,
    awakenings, awakenings_2min, stage_shifts, n_cycles after Feinberg & Floyd 1979, N3 per third of
    the sleep period, N3_expected with its 95 % bounds when the hypnogram has probabilities).

    Units: minutes for durations and latencies, % for percentages, counts, SFI per hour; NaN when
    undefined. hypnogram: a Hypnogram, Night, hypnogram file, stage() DataFrame or a sequence of stage
    labels / YASA integer codes with epoch_s (default 30 s). lights_off_s/lights_on_s: seconds from the
    recording start (default: the "Lights off"/"Lights on" events, else the whole hypnogram).
    """
    h = _hypnogram(hypnogram, epoch_s)
    off = None if lights_off_s is None else _number(lights_off_s, "lights_off_s")
    on = None if lights_on_s is None else _number(lights_on_s, "lights_on_s")
    return _psgkit.sleep_statistics(h, off, on)


class Night:
    """One analysed night (see :func:`analyse_night`): hypnogram, statistics and deep-sleep measures."""

    def __init__(self, native):
        self._n = native

    def __repr__(self):
        return f"<psgkit.Night {self.path!r}: {len(self.hypnogram)} epochs>"

    path = property(lambda self: os.fspath(self._n.path), doc="The recording or hypnogram file (str).")
    hypnogram = property(lambda self: self._n.hypnogram, doc="The night's psgkit.Hypnogram (expert or automatic).")
    staged_automatically = property(lambda self: self._n.staged_automatically,
                                     doc="True when the hypnogram comes from psgkit's staging.")
    is_recording = property(lambda self: self._n.is_recording, doc="False for a night read from a hypnogram file.")
    notes = property(lambda self: list(self._n.notes), doc="What was done: channels, model, epochs excluded.")

    @property
    def statistics(self):
        """sleep_statistics() of the night's hypnogram (dict; minutes, %, counts)."""
        return self._n.statistics_dict()

    @property
    def measures(self):
        """DataFrame of every measure in report order (deep sleep first): name, value, unit, deep_sleep."""
        return pd.DataFrame(self._n.measure_list(), columns=["name", "value", "unit", "deep_sleep"])


def analyse_night(path, hypnogram=None, eeg=None, swa_channel=None, lights_off_s=None, lights_on_s=None):
    """Analyse one night as ``psgkit stats``/``compare`` do: a recording (EDF/BDF) is staged
    automatically unless an expert ``hypnogram`` file is given, and gets slow-wave measures (SWA in µV²,
    slow waves per Massimini et al. 2004 criteria as documented in deep_sleep.hpp) on ``swa_channel``
    (default: the first central derivation, else the staging EEG); a hypnogram file gets its sleep
    statistics only. eeg: EEG label(s) for staging. lights_off_s/lights_on_s: seconds from the start.
    Returns a Night. Raises psgkit.Error.
    """
    hyp = None if hypnogram is None else _path(hypnogram, "hypnogram")
    if swa_channel is not None and not isinstance(swa_channel, str):
        raise TypeError(f"swa_channel: expected a label (str), got {type(swa_channel).__name__}")
    off = None if lights_off_s is None else _number(lights_off_s, "lights_off_s")
    on = None if lights_on_s is None else _number(lights_on_s, "lights_on_s")
    return Night(_psgkit.analyse_night(_path(path, "path"), hyp, _labels(eeg, "eeg"), swa_channel or "", off, on))


def _night(value, name):
    if isinstance(value, Night):
        return value
    if isinstance(value, (str, os.PathLike)):
        return analyse_night(value)
    raise TypeError(f"{name}: expected a psgkit.Night or a path, got {type(value).__name__}")


def compare(before, after):
    """Before/after comparison of two nights (Night objects from analyse_night, or paths analysed with
    the defaults), as ``psgkit compare``: a DataFrame with one row per measure both nights have, deep
    sleep first — name, unit, before, after, difference (after − before), percent_change
    (100·difference/|before|, NaN when before is 0 or NaN), deep_sleep.
    """
    b, a = _night(before, "before"), _night(after, "after")
    return pd.DataFrame(_psgkit.compare_nights(b._n, a._n),
                        columns=["name", "unit", "before", "after", "difference", "percent_change", "deep_sleep"])


def cohort(manifest, jobs=1, eeg=None, swa_channel=None):
    """Paired statistics over a group, as ``psgkit cohort --json``: every night of the manifest is
    analysed (``jobs`` nights in parallel, GIL released) and each later session is compared with the
    first: paired t-test, Wilcoxon signed-rank (scipy defaults), paired Hedges' g, bootstrap 95 % CI of
    the mean difference (10 000 resamples, fixed seed) and Holm correction of the t-test p-values.

    manifest: a CSV path or a DataFrame with columns subject, session, path and optionally hypnogram
        (relative paths: from the CSV's folder, or from the working directory for a DataFrame).
    Returns the dict of ``psgkit cohort --json`` (sessions, subjects, excluded, measures, comparisons;
    NaN as None) plus "table": a DataFrame with one row per (session, measure) of every comparison.
    A night that fails is reported in the result (``excluded``), never raised.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
    labels = _labels(eeg, "eeg")
    if swa_channel is not None and not isinstance(swa_channel, str):
        raise TypeError(f"swa_channel: expected a label (str), got {type(swa_channel).__name__}")
    if isinstance(manifest, pd.DataFrame):
        missing = [c for c in ("subject", "session", "path") if c not in manifest.columns]
        if missing:
            raise ValueError(f"manifest: missing column(s) {missing}")
        table = manifest.copy()
        for column in ("path", "hypnogram"):
            if column in table.columns:
                table[column] = [os.path.abspath(p) if isinstance(p, str) and p else p for p in table[column]]
        with tempfile.TemporaryDirectory(prefix="psgkit-cohort-") as folder:
            csv = os.path.join(folder, "manifest.csv")
            table.to_csv(csv, index=False)
            text = _psgkit.cohort_json(csv, int(jobs), labels, swa_channel or "")
    else:
        text = _psgkit.cohort_json(_path(manifest, "manifest"), int(jobs), labels, swa_channel or "")
    result = json.loads(text)
    rows = []
    for comparison in result.get("comparisons", []):
        for name, m in comparison["measures"].items():
            rows.append({"baseline": comparison["baseline"], "session": comparison["session"], "measure": name, **m})
    result["table"] = pd.DataFrame(rows).astype({"n": "int64"}, errors="ignore") if rows else pd.DataFrame()
    return result


class Svg(str):
    """SVG text (a str) that Jupyter shows inline through _repr_svg_."""

    def _repr_svg_(self):
        return str(self)

    def save(self, path):
        """Write the SVG to path (UTF-8)."""
        with open(_path(path, "path"), "w", encoding="utf-8") as f:
            f.write(self)


def plot(data, kind="hypnogram", title="", width_px=960.0, height_px=0.0, after=None, labels=("Before", "After"),
         max_freq_hz=30.0):
    """Self-contained SVG figure (psgkit.Svg, shown inline in Jupyter); x axes in hours from the start.

    kind="hypnogram": step plot of a hypnogram (Hypnogram, Night, file, stage() DataFrame or stages),
        W on top then REM, N1, N2, N3 as in YASA. kind="hypnodensity": stacked stage probabilities
        (needs probabilities: a stage() DataFrame, a staging CSV or an automatically staged Night).
        kind="before_after": data and ``after`` one above the other on a common time axis, titled with
        ``labels`` and their N3 and total sleep minutes. kind="spectrogram": 10·log10 power (µV²/Hz) of
        a recording Night's slow-wave channel (30-s epochs, Welch 4-s Hann), up to max_freq_hz.
    width_px, height_px: figure size (height 0: the kind's default).
    """
    if not isinstance(title, str):
        raise TypeError(f"title: expected str, got {type(title).__name__}")
    width = _number(width_px, "width_px", positive=True)
    height = _number(height_px, "height_px")
    if kind == "hypnogram":
        return Svg(_psgkit.hypnogram_svg(_hypnogram(data, name="data"), title, width, height))
    if kind == "hypnodensity":
        return Svg(_psgkit.hypnodensity_svg(_hypnogram(data, name="data"), title, width, height))
    if kind == "before_after":
        if after is None:
            raise TypeError("after: needed with kind='before_after'")
        before_label, after_label = labels
        return Svg(_psgkit.before_after_svg(_hypnogram(data, name="data"), _hypnogram(after, name="after"),
                                            str(before_label), str(after_label), width))
    if kind == "spectrogram":
        if not isinstance(data, Night):
            raise TypeError("data: kind='spectrogram' needs a Night of a recording (psgkit.analyse_night(edf))")
        return Svg(data._n.spectrogram_svg(title, width, height, _number(max_freq_hz, "max_freq_hz", positive=True)))
    raise ValueError(f"kind: expected 'hypnogram', 'hypnodensity', 'before_after' or 'spectrogram', got {kind!r}")
