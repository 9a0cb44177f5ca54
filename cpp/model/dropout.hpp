// Dropout between layers, char-rnn's placement: on the h_t of every layer where it leaves the
// layer (into the layer above, or into the output layer from the top), never on the recurrence.
// Inverted scaling: a kept unit is multiplied by 1 / (1 - p), so evaluation and sampling simply
// run without it. Masks are a pure function of (seed, step, point, index), a counter-based
// generator: a resumed run draws the same masks as an uninterrupted one, a gradient check can
// hold one mask fixed, and the numpy reference (reference/dropout.py) draws the same bits.
// Not here: where the masks are applied (model/model.cpp).
#pragma once

#include <cstdint>

#include "core/layout.hpp"

namespace charrnn {

struct Dropout {
    double p = 0.0;          // probability of dropping a unit; 0: off
    std::uint64_t seed = 0;  // the run's seed
    std::int64_t step = 0;   // the update the masks are for (0-based)
    bool active() const { return p > 0.0; }
};

namespace dropout_bits {

// SplitMix64's output function (Steele, Lea and Flood 2014): a bijection of 64-bit words whose
// outputs for consecutive inputs pass BigCrush.
inline std::uint64_t mix(std::uint64_t z) {
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ULL;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15ULL;  // SplitMix64's increment

// The stream of one mask: a hash of (seed, step, point).
inline std::uint64_t stream(std::uint64_t seed, std::int64_t step, int point) {
    std::uint64_t s = mix(seed + kGamma);
    s = mix(s + std::uint64_t(step) + kGamma);
    return mix(s + std::uint64_t(point) + kGamma);
}

// Uniform in [0, 1) for entry i of a stream: SplitMix64's i-th output from that state, its top
// 53 bits as a double.
inline double uniform(std::uint64_t stream, std::uint64_t i) {
    return double(mix(stream + (i + 1) * kGamma) >> 11) * 0x1.0p-53;
}

}  // namespace dropout_bits

// mask (rows, cols) for dropout point `point` (1 .. L: the output of layer `point`): entry
// (r, c) is 0 with probability p and 1 / (1 - p) otherwise, drawn from entry i = c rows + r of
// the stream of (seed, step, point). Column c = t B + j is sequence j at time step t, as in
// the activations.
template <typename T>
void dropout_mask(const Dropout& d, int point, Mat<T>& mask) {
    const std::uint64_t s = dropout_bits::stream(d.seed, d.step, point);
    const T keep = T(1.0 / (1.0 - d.p));
    T* out = mask.data();
    const std::uint64_t n = std::uint64_t(mask.size());
    for (std::uint64_t i = 0; i < n; ++i) out[i] = dropout_bits::uniform(s, i) < d.p ? T(0) : keep;
}

}  // namespace charrnn
