// Evaluation over a whole text (see evaluate.hpp).
#include "train/evaluate.hpp"

#include <algorithm>

namespace charrnn {

template <typename T>
Evaluation<T>::Evaluation(const Params<T>& params, const Streams& streams, int window, int threads)
    : params_(params),
      streams_(streams),
      window_(window),
      state_(params.spec(), streams.B),
      parallel_(threads),
      inputs_(std::size_t(streams.B) * window),
      targets_(std::size_t(streams.B) * window) {
    ws_.parallel = &parallel_;
}

template <typename T>
bool Evaluation<T>::advance(std::int64_t max_chars) {
    const int B = streams_.B;
    const std::int64_t end = std::min(streams_.readable(), position_ + max_chars);
    while (position_ < end) {
        const int len = int(std::min<std::int64_t>(window_, end - position_));
        streams_.read(position_, len, inputs_.data(), targets_.data());
        for (int j = 0; j < B; ++j)
            if (streams_.begins_document(j, position_)) state_.zero_sequence(j, B);
        forward(params_, inputs_.data(), targets_.data(), len, B, state_, ws_);
        total_ += ws_.nats;
        done_predictions_ += ws_.predicted;
        ws_.final_state(state_);
        position_ += len;
    }
    return position_ < streams_.readable();
}

template class Evaluation<double>;
template class Evaluation<float>;

}  // namespace charrnn
