#pragma once
// The canonical double-gamma haemodynamic response (SPM's: peak at 6 s, undershoot at
// 16 s, ratio 1/6) and the response of a block of stimulation sampled once per TR.
// Thread-safe (pure functions).

#include <vector>

namespace hyper {

// h(t) for t in seconds (0 for t <= 0); not normalised.
double canonical_hrf(double t);

// The response at each of `n` scan times k * tr to stimulation from `onset` for `duration`
// seconds: the integral of h over the block (midpoint sum at dt = 0.01 s), times `scale`.
std::vector<double> block_response(double onset, double duration, double tr, int n, double scale);

// The peak of the unscaled response to a `duration`-second block (searched on a 0.05 s
// grid): 1 / block_peak(1.5) scales a 1.5 s face to a response peaking at 1.
double block_peak(double duration);

// Seconds from a block's onset to its response's peak (on a 0.05 s grid): when the
// response to a face is largest, e.g. which volume best shows it.
double block_peak_delay(double duration);

}  // namespace hyper
