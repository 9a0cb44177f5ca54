// Text from a model: the priming text moves the state, then each next character is drawn from
// softmax(o / temperature), restricted to the top-p nucleus, by inverse CDF. Any cell, any depth:
// one step is the model's own forward (model/model.hpp) with T = B = 1.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.hpp"

namespace charrnn {

// Index drawn from probs (K values) by inverse CDF with uniform u in [0, 1), keeping only the
// smallest set of most likely characters whose mass reaches top_p (top_p = 1 keeps all).
template <typename T>
int draw_index(const Vec<T>& probs, double u, double top_p);

// n character indices. The model first reads prime[0 .. size-2] from state (B = 1); prime's
// last character is the first input. state ends as the state after the last draw's input.
// Same seed, same text.
template <typename T>
std::vector<std::int32_t> sample(const Params<T>& params, State<T>& state,
                                 const std::vector<std::int32_t>& prime, long long n,
                                 std::uint64_t seed, double temperature, double top_p);

}  // namespace charrnn
