// Synthetic polysomnograms that follow a hypnogram, for tests, the demo and benchmarks.
//
// NOT TRAINING DATA: the signals are a hand-tuned caricature of sleep physiology (textbook stage
// descriptions of the AASM Manual, Berry et al. 2017), good enough to exercise readers, feature
// extraction, plots and timing, never to fit or validate a staging model.
//
// Model (per 30-s epoch stage; parameters in notes/simulate.md and the table in src/recording/simulate.cpp):
//   EEG C4-M1, Fpz-Cz: 1/f background (a bank of five one-pole low-pass filters fed by one white
//     noise, corners 0.25-64 Hz) whose slow and fast parts have stage-dependent RMS (steeper in deep
//     sleep), muscle contamination (wake); alpha (10 Hz resonator, relaxed wake);
//     theta (6 Hz resonator, N1 and REM); vertex sharp waves (N1); spindles (11-16 Hz, 0.5-2 s,
//     sin^2 waxing-waning envelope; N2, fewer in N3); K-complexes (N2); slow waves (one cycle of
//     0.6-1.6 s, 90-180 uV peak-to-peak times swa_gain; dense in N3, sparse in N2).
//   EOG E1-M2: small background, blinks and saccades (wake), slow rolling eye movements (0.3 Hz
//     resonator; N1, drowsy wake), rapid eye movements in bursts (REM), frontal EEG leakage.
//   EMG Chin: high-pass white noise with stage-dependent RMS (high in wake, atonia in REM), bursts
//     in wake, brief twitches in REM.
// Continuous amplitudes are blended linearly over `transition_s` around each stage change; event
// rates follow the same blend. All randomness comes from psgkit's own xoshiro256** seeded by
// splitmix64 (no std:: distributions), so a seed gives the same random streams with any standard
// library (samples may differ in the last bits where libm's exp/sin/log differ); Gaussian draws use
// Box-Muller (event parameters) or a 4-term Irwin-Hall sum (per-sample noise; |x| <= 2*sqrt(3)).
// FFT-free, one pass per channel: an 8-h night at 256 Hz takes well under a second.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "psgkit/hypnogram.hpp"
#include "psgkit/recording.hpp"

namespace psgkit {

struct SimulationOptions {
  double fs_hz = 256.0;        // sampling rate of every channel (EEG, EOG and EMG); a positive integer
  uint64_t seed = 1;           // same seed, same options, same hypnogram -> identical samples
  double swa_gain = 1.0;       // multiplies slow-wave amplitude (slow-wave power scales ~ swa_gain^2); >= 0
  double duration_s = 0.0;     // 0: the whole hypnogram; else the first duration_s seconds of it
                               // (whole epochs; must not exceed start_s + hypnogram duration)
  double transition_s = 10.0;  // width of the linear blend between consecutive stages, seconds
  int extra_eeg = 0;           // 0-4 extra EEG derivations after the four channels, in this order:
                               // C3-M2, O2-M1, F4-M1, O1-M2 (C4-M1's activity at a regional gain plus
                               // their own 1/f background; occipital ones with their own alpha)
};

struct SimulatedNight {
  // C4-M1, Fpz-Cz, EOG E1-M2, EMG Chin, then the extra EEG derivations if asked; all in uV at
  // SimulationOptions::fs_hz, same length.
  std::vector<SignalToWrite> signals;
  // One "Sleep stage W|N1|N2|N3|R|?" per run of equal stages, with its duration.
  std::vector<Annotation> annotations;
  // Start date/time written in the EDF header (fixed, so files are byte-identical for a seed).
  WriteOptions write_options;
};

// Simulates the night described by `hypnogram` (epochs from hypnogram.start_s; the stretch before
// start_s, if any, is simulated as wake and left unannotated). UNS epochs are simulated as wake with
// movement (high EMG). Throws psgkit::Error (field "fs_hz", "swa_gain", "duration_s", "hypnogram",
// "extra_eeg") for invalid options or an empty hypnogram.
SimulatedNight simulate_night(const Hypnogram& hypnogram, const SimulationOptions& options = {});

// "Sleep stage X" annotations, one per run of equal stages (UNS -> "Sleep stage ?"), onsets in
// seconds from the recording start, truncated at `until_s` (<= 0: no truncation).
std::vector<Annotation> stage_annotations(const Hypnogram& hypnogram, double until_s = 0.0);

// simulate_night + write_edf (EDF+C, 1-s data records, atomic). Throws psgkit::Error.
void write_simulated_night(const std::filesystem::path& path, const Hypnogram& hypnogram,
                           const SimulationOptions& options = {});

}  // namespace psgkit
