// Sampling (see sample.hpp).
#include "train/sample.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace charrnn {

template <typename T>
int draw_index(const Vec<T>& probs, double u, double top_p) {
    const int K = int(probs.size());
    std::vector<char> keep(K, 1);
    double kept_mass = 1.0;
    if (top_p < 1.0) {
        std::vector<int> order(K);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int i, int j) { return probs[i] > probs[j]; });
        std::fill(keep.begin(), keep.end(), 0);
        kept_mass = 0.0;
        for (int i : order) {
            keep[i] = 1;
            kept_mass += double(probs[i]);
            if (kept_mass >= top_p) break;
        }
    }
    // Inverse CDF in index order, as the assignment draws: the first index whose cumulative
    // (kept, renormalised) probability exceeds u.
    const double target = u * kept_mass;
    double cumulative = 0.0;
    int last_kept = 0;
    for (int i = 0; i < K; ++i) {
        if (!keep[i]) continue;
        cumulative += double(probs[i]);
        last_kept = i;
        if (cumulative > target) return i;
    }
    return last_kept;  // u * mass rounded above the cumulative sum: take the last kept index
}

template <typename T>
Sampler<T>::Sampler(const Params<T>& params, State<T> state, const std::vector<std::int32_t>& prime,
                    std::uint64_t seed, double temperature, double top_p)
    : params_(params),
      state_(std::move(state)),
      gen_(seed),
      temperature_(temperature),
      top_p_(top_p),
      x_(prime.back()) {
    // The priming text only moves the state; its predictions are not drawn.
    if (prime.size() > 1) {
        forward_logits(params_, prime.data(), int(prime.size() - 1), 1, state_, ws_);
        ws_.final_state(state_);
    }
}

template <typename T>
std::int64_t Sampler<T>::draw(std::int64_t n, std::int32_t* out, std::int32_t stop) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (std::int64_t i = 0; i < n; ++i) {
        forward_logits(params_, &x_, 1, 1, state_, ws_);
        ws_.final_state(state_);
        probs_ = ws_.P.col(0);
        // Shift by the max before dividing: (o - max) / temperature is <= 0 with a 0 at the
        // argmax, so even a temperature of 1e-320 gives exp(0) = 1 there, not inf/inf = NaN.
        probs_ = ((probs_.array() - probs_.maxCoeff()) / T(temperature_)).exp().matrix();
        probs_ /= probs_.sum();
        x_ = draw_index(probs_, uniform(gen_), top_p_);
        out[i] = x_;
        if (x_ == stop) return i + 1;
    }
    return n;
}

#define CHARRNN_INSTANTIATE(T)                                 \
    template int draw_index<T>(const Vec<T>&, double, double); \
    template class Sampler<T>;

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
