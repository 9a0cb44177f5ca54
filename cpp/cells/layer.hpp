// What every cell's layer provides to the model (model/model.cpp): a forward pass over a whole
// sequence for B sequences that keeps what backward needs, and a backward pass that fills the
// layer's parameter gradients and the gradient of its input. One implementation per cell:
// rnn.cpp, lstm.cpp, gru.cpp. Not here: the output layer and the loss (model/model.cpp).
#pragma once

#include <cstdint>
#include <memory>

#include <Eigen/Core>

#include "core/layout.hpp"
#include "core/parallel.hpp"

namespace charrnn {

template <typename T>
using Cols = Eigen::Map<Mat<T>, 0, Eigen::OuterStride<>>;
template <typename T>
using ConstCols = Eigen::Map<const Mat<T>, 0, Eigen::OuterStride<>>;

// The input of a layer at every time step: layer 1 reads characters (column x of U1 is the
// input weight of character x: a gather, never a one-hot product), a layer above reads the
// hidden states h_1 .. h_T of the layer below. Column (t B + j) is sequence j at time t.
template <typename T>
struct LayerInput {
    const std::int32_t* x = nullptr;  // layer 1: sequence j's t-th character at x[j T_len + t]
    const T* X = nullptr;             // layer > 1: (rows, T B) column-major, columns ld apart
    Eigen::Index rows = 0, ld = 0;
    bool dense() const { return X != nullptr; }
    ConstCols<T> matrix(Eigen::Index n) const { return {X, rows, n, Eigen::OuterStride<>(ld)}; }
};

template <typename T>
class Layer {
public:
    virtual ~Layer() = default;
    Parallel* parallel = nullptr;  // threads the passes may use (set by the model); null: one
    // Runs T_len steps from state (h0, c0), each (m, B) (c0 has 0 columns except for lstm).
    virtual void forward(const Params<T>& params, const LayerInput<T>& in,
                         const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>& c0,
                         int T_len, int B) = 0;
    // h_0 .. h_T, (m, (T+1) B); what the layer above reads and the state to carry.
    virtual ConstCols<T> hidden() const = 0;
    // c_0 .. c_T for lstm, (m, (T+1) B); (m, 0) for cells without a cell state.
    virtual ConstCols<T> cell_state() const = 0;
    // The gates of the last forward: gate_count() of them (lstm 4: i f g o; gru 3: r z n; rnn
    // none), gate(g) (m, T B) each. Only forward-side readers use them (model/inspect.cpp).
    virtual int gate_count() const { return 0; }
    virtual ConstCols<T> gate(int) const { return {nullptr, 0, 0, Eigen::OuterStride<>(1)}; }
    // dL/dh_t from outside the recurrence, (m, T B): the caller writes it before backward
    // (V^T d_o for the top layer, the gradient of the layer above's input otherwise).
    virtual Cols<T> dH() = 0;
    // Gradients of the last forward(): this layer's arrays in grads are overwritten. For a
    // dense input, dL/dX (rows, T B) is written into dX (null for layer 1).
    virtual void backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                          Cols<T>* dX) = 0;
};

// A layer of the spec's cell for layer number l (1 .. L) of a model: rnn.cpp, lstm.cpp, gru.cpp.
template <typename T>
std::unique_ptr<Layer<T>> make_rnn_layer(const ModelSpec& spec, int l);
template <typename T>
std::unique_ptr<Layer<T>> make_lstm_layer(const ModelSpec& spec, int l);
template <typename T>
std::unique_ptr<Layer<T>> make_gru_layer(const ModelSpec& spec, int l);
template <typename T>
std::unique_ptr<Layer<T>> make_layer(const ModelSpec& spec, int l) {
    switch (spec.cell) {
        case Cell::lstm:
            return make_lstm_layer<T>(spec, l);
        case Cell::gru:
            return make_gru_layer<T>(spec, l);
        default:
            return make_rnn_layer<T>(spec, l);
    }
}

// The input side of a gated layer l, for every step at once (it does not depend on the previous
// step): Z (G mp, T B) = U x_t + b, gate g at rows g mp .. g mp + m and zeros in the padding
// rows up to g mp + mp (mp = kernels::padded<T>(m), the gated kernel's layout). For characters
// (layer 1) a gather from `table`, (K, G mp), whose row k is column k of U plus b in the same
// layout (a transposed copy: a column of the row-major U is strided); for the layer below's h_t
// one product per gate (one in all when mp = m).
template <typename T>
void input_forward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                   MatR<T>& table, Mat<T>& Z, Parallel* parallel);
// Its adjoint, from dZ (G mp, T B) = dL/d(U x_t + b), padding rows zero: db, dU (for characters,
// column x_t of U gets column t B + j of dZ, added as rows of dU^T in `table`, then transposed
// once) and, for a dense input, dL/dX = U^T dZ into dX.
template <typename T>
void input_backward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                    const Mat<T>& dZ, MatR<T>& table, Params<T>& grads, Cols<T>* dX,
                    Parallel* parallel);

}  // namespace charrnn
