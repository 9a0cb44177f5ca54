// The loss of a model over a whole text: every next-character prediction from a zero state, the
// state carried from one chunk of the text to the next (so the chunk length changes only the
// rounding). Runs in pieces so the caller can release the GIL and check for Ctrl-C between them.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.hpp"

namespace charrnn {

template <typename T>
class Evaluation {
public:
    // text: N >= 2 character indices; predicts text[1 .. N-1] from text[0 .. N-2].
    Evaluation(const Params<T>& params, const std::int32_t* text, std::int64_t N, int chunk = 512);
    // Up to max_chars more predictions; returns false when the text is done.
    bool advance(std::int64_t max_chars);
    double total_nats() const { return total_; }  // sum of -log p[y] so far
    std::int64_t predictions() const { return done_; }

private:
    const Params<T>& params_;
    const std::int32_t* text_;
    std::int64_t N_, done_ = 0;
    int chunk_;
    double total_ = 0.0;
    State<T> state_;
    Workspace<T> ws_;
};

}  // namespace charrnn
