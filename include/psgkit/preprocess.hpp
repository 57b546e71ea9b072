// Signal preprocessing: anti-aliased rational resampling, zero-phase Butterworth and notch filters,
// re-referencing and fixed-length epoching. Samples are in any unit (µV for EEG); rates in Hz.
//
// Resampling (Resampler): rational polyphase FIR, the scheme of scipy.signal.resample_poly with a
// stricter filter.
//   * Ratio. up/down is the fraction with the smallest denominator (found by continued fractions)
//     with |up/down − fs_out/fs_in| <= rel_tolerance · fs_out/fs_in (default 1e-6, i.e. at most
//     29 ms drift over 8 h). The exact output rate is fs_in · up / down (fs_out_hz()),
//     e.g. 999.412 Hz → 100 Hz gives 170/1699 and 100.0000235 Hz (2.4e-7 off: 7 ms over 8 h); 256 → 100
//     gives 25/64 exactly. rel_tolerance = 0 asks for the exact fraction of the two doubles (may be huge).
//   * Filter. Linear-phase Kaiser-windowed sinc at the rate up · fs_in (Kaiser 1974 design formulas):
//     passband edge = passband_fraction · min(fs_in, fs_out)/2 (default 0.8), stopband edge =
//     stopband_fraction · min(fs_in, fs_out)/2 (default 1.0: nothing above the new Nyquist aliases),
//     ripple/attenuation = stopband_attenuation_db (default 80 dB, passband ripple < 0.001 dB;
//     scipy's default, checked for 256 → 100 Hz: flat within 0.1 dB to 0.86 × Nyquist, −6 dB at the
//     new Nyquist, −50 dB only from 1.16 × Nyquist, stopband −55 dB). Taps = ceil((A − 7.95) / (14.36 · Δf)) + 1 (made odd), Δf = transition width /
//     (up · fs_in); β = 0.1102 (A − 8.7). Each polyphase branch is normalised to DC gain exactly 1 (a
//     constant stays exactly constant). 256 → 100 Hz: 3213 taps, 129 per output sample.
//   * Zero phase. The symmetric filter's group delay (half its length) is compensated: output sample
//     m is at time m / fs_out_hz() from the first input sample, same as input sample 0.
//   * Length: ceil(n · up / down) output samples.
//   * Edges: the input is extended by odd reflection about its first/last sample (2·x[0] − x[i],
//     as sosfiltfilt's "odd" padding), which keeps level and slope, so no step artefact at the ends.
//   * fs_out == fs_in returns an unfiltered copy. Direct polyphase dot products, vectorised for the
//     CPU found at run time (AVX2/FMA or SSE2); float input is filtered in float (taps rounded
//     to float, about 1e-6 relative error), double in double.
//
// Filters (IirFilter): Butterworth low/high/band-pass designed from the analog prototype by the
// bilinear transform with frequency prewarping (as scipy.signal.butter(..., output="sos")), and the
// second-order notch of scipy.signal.iirnotch. Applied forward-backward (filtfilt: zero phase, squared
// magnitude, so the effective order doubles and the gain at a Butterworth cutoff is −6 dB instead of
// −3 dB) in the manner of scipy.signal.sosfiltfilt: odd-reflection padding of
// 3 · (2 · n_sections + 1) samples at each end (fewer for very short input, never more than n − 1)
// and per-section steady-state initial conditions (sosfilt_zi) scaled by the first sample of each pass.
//
// Throws psgkit::Error for non-finite or non-positive rates, cutoffs not strictly between 0 and the
// Nyquist frequency, or signals containing NaN/inf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace psgkit {

struct Rational {
  int64_t up = 1;
  int64_t down = 1;
};

// Smallest-denominator p/q (p, q > 0, coprime) within rel_tolerance of `ratio` (> 0, finite), with
// p, q <= max_term. Throws psgkit::Error if none exists.
Rational rational_approximation(double ratio, double rel_tolerance = 1e-6, int64_t max_term = 1 << 20);

struct ResampleOptions {
  double rel_tolerance = 1e-6;           // of the rational approximation of fs_out / fs_in
  double passband_fraction = 0.8;        // passband edge, fraction of min(fs_in, fs_out) / 2
  double stopband_fraction = 1.0;        // stopband edge, fraction of min(fs_in, fs_out) / 2
  double stopband_attenuation_db = 80.0; // also sets the passband ripple (Kaiser design)
};

// A resampler for one (fs_in, fs_out) pair; the polyphase filter bank is built once and the object is
// immutable afterwards (thread-safe to share).
class Resampler {
 public:
  Resampler(double fs_in_hz, double fs_out_hz, const ResampleOptions& options = {});

  double fs_in_hz() const { return fs_in_hz_; }
  double fs_out_hz() const { return fs_in_hz_ * static_cast<double>(up_) / static_cast<double>(down_); }
  int64_t up() const { return up_; }
  int64_t down() const { return down_; }
  size_t n_taps() const { return n_taps_; }            // FIR length at rate up · fs_in
  double passband_edge_hz() const { return passband_hz_; }
  double stopband_edge_hz() const { return stopband_hz_; }
  size_t output_length(size_t n_in) const;             // ceil(n_in · up / down)

  std::vector<double> process(std::span<const double> x) const;
  std::vector<float> process(std::span<const float> x) const;
  // `y` must hold output_length(x.size()) values.
  void process(std::span<const double> x, std::span<double> y) const;
  void process(std::span<const float> x, std::span<float> y) const;

  // Block-wise resampling of a long signal of n_in samples without holding it whole. input_range gives
  // the input samples [first, second) that outputs [first_output, first_output + n_outputs) of process()
  // read (filter support and edge reflection). process_block computes those outputs, bit for bit the
  // same as process(), from `window` = input samples [window_first, window_first + window.size()), which
  // must cover input_range(n_in, first_output, y.size()). Throws psgkit::Error for outputs beyond
  // output_length(n_in), a window that does not cover them, or NaN/inf in the window.
  std::pair<size_t, size_t> input_range(size_t n_in, size_t first_output, size_t n_outputs) const;
  void process_block(std::span<const double> window, size_t window_first, size_t n_in, size_t first_output,
                     std::span<double> y) const;
  void process_block(std::span<const float> window, size_t window_first, size_t n_in, size_t first_output,
                     std::span<float> y) const;
  // The float form with its outputs stored as double (exact widening): the same values as the float
  // form, without a float buffer and a copy for callers that go on in double.
  void process_block(std::span<const float> window, size_t window_first, size_t n_in, size_t first_output,
                     std::span<double> y) const;

 private:
  double fs_in_hz_, passband_hz_ = 0, stopband_hz_ = 0;
  int64_t up_ = 1, down_ = 1;
  size_t n_taps_ = 1, half_len_ = 0, taps_per_phase_ = 1;
  // bank[p * taps_per_phase + r]: phase p, taps reversed so each output is a forward dot product.
  std::vector<double> bank_;
  std::vector<float> bank_float_;
};

// One-shot convenience: Resampler(fs_in_hz, fs_out_hz, options).process(x).
std::vector<double> resample(std::span<const double> x, double fs_in_hz, double fs_out_hz,
                             const ResampleOptions& options = {});
std::vector<float> resample(std::span<const float> x, double fs_in_hz, double fs_out_hz,
                            const ResampleOptions& options = {});

// One second-order section: b0 + b1 z^-1 + b2 z^-2 over 1 + a1 z^-1 + a2 z^-2 (a0 = 1).
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};

enum class FilterKind { LowPass, HighPass, BandPass, Notch };

// A designed digital IIR filter as second-order sections, applied zero-phase (forward-backward).
class IirFilter {
 public:
  // Butterworth of `order` (1..20; band-pass: `order` poles per edge, 2·order in total, as scipy),
  // cutoffs at −3 dB of the single pass (−6 dB after filtfilt).
  static IirFilter butter_lowpass(int order, double cutoff_hz, double fs_hz);
  static IirFilter butter_highpass(int order, double cutoff_hz, double fs_hz);
  static IirFilter butter_bandpass(int order, double low_hz, double high_hz, double fs_hz);
  // scipy.signal.iirnotch: zero at f0, −3 dB bandwidth f0 / quality (single pass).
  static IirFilter notch(double f0_hz, double quality, double fs_hz);

  FilterKind kind() const { return kind_; }
  double fs_hz() const { return fs_hz_; }
  const std::vector<Biquad>& sections() const { return sections_; }
  // Complex gain magnitude of one forward pass at f_hz (filtfilt gain is its square).
  double magnitude(double f_hz) const;
  // Samples of padding at each end used by filtfilt (before clamping to n − 1).
  size_t pad_length() const { return 3 * (2 * sections_.size() + 1); }

  // Zero-phase forward-backward filtering (sosfiltfilt). In place, or into a new vector.
  void filtfilt_inplace(std::span<double> x) const;
  void filtfilt_inplace(std::span<float> x) const;
  std::vector<double> filtfilt(std::span<const double> x) const;
  std::vector<float> filtfilt(std::span<const float> x) const;
  // Several zero-phase filters of one signal in one pass: y[k] = filters[k]->filtfilt(x), bit for bit.
  // Up to four filters of at most four sections each run side by side in the lanes of one vector,
  // so their serial recurrences overlap (three filters cost about one); others run in turn. Each
  // y[k] holds x.size() values and must not overlap x. Throws psgkit::Error for NaN/inf in x.
  static void filtfilt_each(std::span<const IirFilter* const> filters, std::span<const double> x,
                            std::span<const std::span<double>> y);
  static void filtfilt_each(std::span<const IirFilter* const> filters, std::span<const float> x,
                            std::span<const std::span<float>> y);
  // filtfilt_inplace with segments of a long signal filtered side by side in SIMD lanes (4-8x faster):
  // every segment but the first starts from zero state some samples early, enough for the slowest
  // pole's transient to fall below 1e-17 of the signal, so the outputs equal filtfilt_inplace's to
  // double rounding (as floats, identical but for a rare sample rounded the other way). Short
  // signals are filtered as filtfilt_inplace does.
  void filtfilt_inplace_in_lanes(std::span<float> x) const;
  // Causal single pass (sosfilt, zero initial state), for completeness / phase-sensitive uses.
  std::vector<double> filter(std::span<const double> x) const;

 private:
  IirFilter(FilterKind kind, double fs_hz, std::vector<Biquad> sections)
      : kind_(kind), fs_hz_(fs_hz), sections_(std::move(sections)) {}
  FilterKind kind_;
  double fs_hz_;
  std::vector<Biquad> sections_;
};

// a − b (bipolar derivation, e.g. C4 − M1). Throws psgkit::Error if the rates or lengths differ.
std::vector<double> rereference(std::span<const double> a, double a_fs_hz, std::span<const double> b,
                                double b_fs_hz);
std::vector<float> rereference(std::span<const float> a, double a_fs_hz, std::span<const float> b,
                               double b_fs_hz);

// Where fixed-length epochs lie in a signal of n samples. Epoch i covers samples
// [first_sample + i·samples_per_epoch, + samples_per_epoch). The trailing partial epoch is dropped and
// reported in dropped_samples (samples before first_sample are simply not covered).
struct EpochGrid {
  double fs_hz = 0;
  size_t first_sample = 0;
  size_t samples_per_epoch = 0;
  size_t count = 0;
  size_t dropped_samples = 0;  // samples after the last whole epoch
  double dropped_s() const { return static_cast<double>(dropped_samples) / fs_hz; }
  size_t size() const { return count; }
};

// The epochs of a grid as views into the signal (no copy).
template <class T>
struct Epochs : EpochGrid {
  std::span<const T> signal;
  std::span<const T> operator[](size_t i) const {
    return signal.subspan(first_sample + i * samples_per_epoch, samples_per_epoch);
  }
};

// The grid make_epochs uses, for a signal of n_samples that is not in memory (read in blocks).
EpochGrid epoch_grid(size_t n_samples, double fs_hz, double epoch_s = 30.0, double offset_s = 0.0);

// Cuts `x` (rate fs_hz) into epochs of epoch_s seconds (default 30 s, AASM) starting offset_s seconds
// after the first sample (e.g. Hypnogram::start_s; rounded to the nearest sample). epoch_s · fs_hz must
// be an integer (within 1e-6 samples; resample first otherwise), offset_s >= 0. Throws psgkit::Error.
Epochs<double> make_epochs(std::span<const double> x, double fs_hz, double epoch_s = 30.0,
                           double offset_s = 0.0);
Epochs<float> make_epochs(std::span<const float> x, double fs_hz, double epoch_s = 30.0,
                          double offset_s = 0.0);

// Throws psgkit::Error(field = `what`) naming the first NaN/inf sample index, if any.
void require_finite(std::span<const double> x, const char* what);
void require_finite(std::span<const float> x, const char* what);

}  // namespace psgkit
