// A model of the family: L layers of one cell (cells/) under the output layer, with its
// workspace, forward pass and backpropagation through time:
//
//   e_t = E[:, x_t]                  // (D)   with an embedding: what layer 1 reads
//   o_t = V h_t + c                  // (K)   logits, from the top layer's h_t
//   p_t = softmax(o_t)               // (K)   probabilities
//   L   = -(1/B) sum_b sum_t log p_t[y_t]   (B = 1 is the assignment's loss)
//
// A target of -1 predicts nothing (a document's padding): the sum runs over the n targets there
// are, and 1/B becomes T/n, the loss of a full window of T characters per sequence.
//
// Pure C++/Eigen, no Python: the bindings validate input before calling in here, so these
// functions trust their arguments (shapes and index ranges are checked at the boundary).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cells/layer.hpp"
#include "core/layout.hpp"
#include "core/parallel.hpp"
#include "model/dropout.hpp"

namespace charrnn {

// What forward keeps for backward. Reused across calls: a layer only reallocates when sizes
// change. Column (t B + j) of an activation matrix is sequence j at time step t.
template <typename T>
struct Workspace {
    ModelSpec spec;
    int T_len = 0, B = 0;
    Parallel* parallel = nullptr;  // the threads loops may use; null: the caller's alone
    std::vector<std::unique_ptr<Layer<T>>> layers;  // layers[l - 1] is layer l
    Mat<T> P;                    // (K, T B)  o_t, then p_t; backward turns it into d_o
    Mat<T> Xe;                   // (D, T B)  with an embedding: e_t = E[:, x_t], layer 1's input
    Mat<T> dXe;                  // (D, T B)  dL/de_t
    double nats = 0;             // -sum log p_t[y_t] of the last forward
    Eigen::Index predicted = 0;  // its targets (T B unless some are -1)
    // Dropout of the last forward (dropout.hpp); when active, point l = 1 .. L (the output of
    // layer l) has a mask, mask[l - 1], and the output it lets through, dropped[l - 1]:
    Dropout dropout;
    std::vector<Mat<T>> mask;     // (m, T B)  0 or 1 / (1 - p)
    std::vector<Mat<T>> dropped;  // (m, T B)  mask .* h_t of layer l: what leaves the layer

    // Layers for spec (kept when the spec is the same).
    void prepare(const ModelSpec& spec, int T_len, int B);
    // h_T (and c_T) of every layer: the state to carry into the next window of text.
    void final_state(State<T>& state) const;
};

// inputs, targets: B rows of T indices each (row-major, j * T + t). state0: the initial state of
// every layer. dropout: off unless given (training). Returns the loss L above; fills ws.
template <typename T>
double forward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
               int T_len, int B, const State<T>& state0, Workspace<T>& ws,
               const Dropout& dropout = {});

// The layers and the logits o_t only (no softmax): what sampling needs.
template <typename T>
void forward_logits(const Params<T>& params, const std::int32_t* inputs, int T_len, int B,
                    const State<T>& state0, Workspace<T>& ws, const Dropout& dropout = {});

// Gradients of the loss of the last forward() on the same ws, written into grads (overwritten,
// never clipped: clipping is its own step so a gradient check sees the true gradient).
template <typename T>
void backward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
              Workspace<T>& ws, Params<T>& grads);

}  // namespace charrnn
