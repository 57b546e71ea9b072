#!/usr/bin/env python3
"""Compare deep sleep of two nights from Python, as `psgkit compare` does, and draw both hypnograms.

    PYTHONPATH=build/python python3 examples/python/compare_nights.py out/demo/before.edf out/demo/after.edf \
        --hypnogram-before data/demo/before.csv --hypnogram-after data/demo/after.csv --svg out/demo/nights.svg

A recording (EDF/BDF) is staged automatically unless its expert hypnogram is given; its EEG gives the
slow-wave measures. Prints the deep-sleep measures (before, after, difference, % change) and each
night's sleep statistics in YASA's names.
"""
import argparse

import pandas as pd

import psgkit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="recording (EDF/BDF) or hypnogram of the night before treatment")
    parser.add_argument("after", help="recording (EDF/BDF) or hypnogram of the night after treatment")
    parser.add_argument("--hypnogram-before", help="expert hypnogram of BEFORE (default: automatic staging)")
    parser.add_argument("--hypnogram-after", help="expert hypnogram of AFTER (default: automatic staging)")
    parser.add_argument("--svg", help="write the two hypnograms on a common time axis here")
    args = parser.parse_args()

    before = psgkit.analyse_night(args.before, hypnogram=args.hypnogram_before)
    after = psgkit.analyse_night(args.after, hypnogram=args.hypnogram_after)
    table = psgkit.compare(before, after)
    with pd.option_context("display.width", 120, "display.max_rows", 100, "display.precision", 2):
        print("Deep sleep (after - before):")
        print(table[table.deep_sleep].drop(columns="deep_sleep").to_string(index=False))
        stats = pd.DataFrame({"before": before.statistics, "after": after.statistics})
        print("\nSleep statistics (minutes, %, counts):")
        print(stats.loc[["TIB", "TST", "SE", "SOL", "WASO", "N1", "N2", "N3", "REM", "%N3", "Lat_N3"]].to_string())
    if args.svg:
        psgkit.plot(before, kind="before_after", after=after).save(args.svg)
        print(f"\nhypnograms: {args.svg}")


if __name__ == "__main__":
    main()
