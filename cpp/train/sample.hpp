// Text from a model: the priming text moves the state, then each next character is drawn from
// softmax(o / temperature), restricted to the top-p nucleus, by inverse CDF. Any cell, any depth:
// one step is the model's own forward (model/model.hpp) with T = B = 1.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "model/model.hpp"

namespace charrnn {

// Index drawn from probs (K values) by inverse CDF with uniform u in [0, 1), keeping only the
// smallest set of most likely characters whose mass reaches top_p (top_p = 1 keeps all).
template <typename T>
int draw_index(const Vec<T>& probs, double u, double top_p);

// Draws characters one at a time. The model first reads prime[0 .. size-2] from state (B = 1);
// prime's last character is the first input. draw() may be called again to continue the same
// text (the caller checks for Ctrl-C in between). Same seed, same text.
template <typename T>
class Sampler {
public:
    Sampler(const Params<T>& params, State<T> state, const std::vector<std::int32_t>& prime,
            std::uint64_t seed, double temperature, double top_p);
    // The next n characters into out[0 .. n-1], or fewer: drawing stops after `stop` (a
    // document's end symbol; -1: never). Returns how many were drawn.
    std::int64_t draw(std::int64_t n, std::int32_t* out, std::int32_t stop = -1);

private:
    const Params<T>& params_;
    State<T> state_;
    Workspace<T> ws_;
    std::mt19937_64 gen_;
    double temperature_, top_p_;
    std::int32_t x_;  // the next input
    Vec<T> probs_;
};

}  // namespace charrnn
