// The loss of a model over a whole text: every prediction from a zero state, the state carried
// from one window of the text to the next (so the window length changes only the rounding), and
// zeroed where a document begins (streams.hpp). Runs in pieces so the caller can release the GIL
// and check for Ctrl-C between them. No dropout: evaluation is of the model itself.
#pragma once

#include <cstdint>

#include "model/model.hpp"
#include "train/streams.hpp"

namespace charrnn {

template <typename T>
class Evaluation {
public:
    // Windows of up to `window` inputs of each of the streams' B chunks; the last may be shorter.
    Evaluation(const Params<T>& params, const Streams& streams, int window = 512, int threads = 1);
    // Windows covering up to max_chars more inputs of each stream; returns false when the text
    // is done.
    bool advance(std::int64_t max_chars);
    double total_nats() const { return total_; }  // sum of -log p[y] so far
    std::int64_t predictions() const { return done_predictions_; }

private:
    const Params<T>& params_;
    const Streams& streams_;
    int window_;
    std::int64_t position_ = 0, done_predictions_ = 0;
    double total_ = 0.0;
    State<T> state_;
    Parallel parallel_;
    Workspace<T> ws_;
    std::vector<std::int32_t> inputs_, targets_;  // (B, window) row-major
};

}  // namespace charrnn
