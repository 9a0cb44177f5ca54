// Evaluation over a whole text (see evaluate.hpp).
#include "train/evaluate.hpp"

#include <algorithm>

namespace charrnn {

template <typename T>
Evaluation<T>::Evaluation(const Params<T>& params, const std::int32_t* text, std::int64_t N,
                          int chunk)
    : params_(params), text_(text), N_(N), chunk_(chunk), state_(params.spec(), 1) {}

template <typename T>
bool Evaluation<T>::advance(std::int64_t max_chars) {
    const std::int64_t end = std::min(N_ - 1, done_ + max_chars);
    while (done_ < end) {
        const int len = int(std::min<std::int64_t>(chunk_, end - done_));
        total_ += forward(params_, text_ + done_, text_ + done_ + 1, len, 1, state_, ws_);
        ws_.final_state(state_);
        done_ += len;
    }
    return done_ < N_ - 1;
}

template class Evaluation<double>;
template class Evaluation<float>;

}  // namespace charrnn
