// A forward-only pass over one chunk of a long text at batch 1, keeping what `charrnn inspect`
// shows: h_t of every layer, c_t (lstm), the gates, and for the softmax head the top k
// probabilities, the loss, the entropy and the rank of the true next character. The caller
// carries the state from chunk to chunk. No backward, no dropout; the same forward() code path
// as training, so h, c and p are the bits forward_backward gives on the same window.
#pragma once

#include <cstdint>

#include "model/model.hpp"

namespace charrnn {

// Where one chunk of T steps goes: buffers the caller owns, row-major. A null pointer skips
// that output (cs for non-lstm cells, gates when not wanted).
template <typename T>
struct TraceOut {
    T* hs = nullptr;                    // (L, T, m)     h_1 .. h_T of each layer
    T* cs = nullptr;                    // (L, T, m)     lstm: c_1 .. c_T
    T* gates = nullptr;                 // (L, G, T, m)  lstm [i f g o], gru [r z n]
    std::int32_t* top_index = nullptr;  // (T, k)       the k most probable next characters
    T* top_p = nullptr;                 // (T, k)        their probabilities, largest first
    double* loss = nullptr;             // (T)           -log p_t[y_t], nats (log-sum-exp form)
    double* entropy = nullptr;          // (T)           -sum_k p log p, nats
    std::int32_t* rank = nullptr;       // (T)           characters more probable than y_t
};

// inputs, targets: T indices each (targets in [0, K)). state: the state before the chunk on
// entry, after it on return. top_k <= K.
template <typename T>
void inspect_forward(const Params<T>& params, const std::int32_t* inputs,
                     const std::int32_t* targets, int T_len, int top_k, State<T>& state,
                     Workspace<T>& ws, const TraceOut<T>& out);

}  // namespace charrnn
