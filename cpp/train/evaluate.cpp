// Evaluation over a whole text (see evaluate.hpp).
#include "train/evaluate.hpp"

#include <algorithm>

namespace charrnn {

namespace {

// A window longer than what a stream can read changes nothing (each read is cut to what is
// left) but would size the buffers by it: 2^31 - 1 characters per stream is 16 GB of indices.
int readable_window(int window, const Streams& streams) {
    return int(std::max<std::int64_t>(1, std::min<std::int64_t>(window, streams.readable())));
}

}  // namespace

template <typename T>
Evaluation<T>::Evaluation(const Params<T>& params, const Streams& streams, int window, int threads)
    : params_(params),
      streams_(streams),
      window_(readable_window(window, streams)),
      state_(params.spec(), streams.B),
      parallel_(threads),
      inputs_(std::size_t(streams.B) * window_),  // window_ is declared, so set, before them
      targets_(std::size_t(streams.B) * window_) {
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
