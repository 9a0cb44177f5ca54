// The stack of layers and the output layer (see model.hpp).
#include "model/model.hpp"

#include <algorithm>
#include <cmath>

#include "core/floating.hpp"
#include "kernels/gemm.hpp"
#include "kernels/sequential.hpp"
#include "kernels/softmax.hpp"

namespace charrnn {

template <typename T>
void Workspace<T>::prepare(const ModelSpec& spec_, int T_len_, int B_) {
    if (layers.empty() || spec != spec_) {
        spec = spec_;
        layers.clear();
        for (int l = 1; l <= spec.layers; ++l) layers.push_back(make_layer<T>(spec, l));
    }
    T_len = T_len_;
    B = B_;
    P.resize(spec.K, Eigen::Index(T_len) * B);
    if (spec.embedding > 0) {
        Xe.resize(spec.embedding, Eigen::Index(T_len) * B);
        dXe.resize(spec.embedding, Eigen::Index(T_len) * B);
    }
}

template <typename T>
void Workspace<T>::final_state(State<T>& state) const {
    const Eigen::Index n = Eigen::Index(T_len) * B;
    for (int l = 0; l < spec.layers; ++l) {
        state.h_of(l, B) = layers[l]->hidden().middleCols(n, B);
        if (state.c.cols() > 0) state.c_of(l, B) = layers[l]->cell_state().middleCols(n, B);
    }
}

namespace {

// What leaves layer l (1 .. L), (m, T B): its h_1 .. h_T, or with dropout the masked copy.
template <typename T>
ConstCols<T> output_of(const Workspace<T>& ws, int l) {
    if (ws.dropout.active()) {
        const Mat<T>& d = ws.dropped[l - 1];
        return {d.data(), d.rows(), d.cols(), Eigen::OuterStride<>(d.rows())};
    }
    const ConstCols<T> h = ws.layers[l - 1]->hidden();
    return {h.data() + h.outerStride() * ws.B, h.rows(), h.cols() - ws.B,  // skip h_0
            Eigen::OuterStride<>(h.outerStride())};
}

// What layer l reads: characters (or their embeddings) for layer 1, what leaves the layer
// below otherwise.
template <typename T>
LayerInput<T> input_of(const Workspace<T>& ws, int l, const std::int32_t* inputs) {
    LayerInput<T> in;
    if (l == 1 && ws.spec.embedding > 0) {
        in.X = ws.Xe.data();
        in.rows = in.ld = ws.Xe.rows();
    } else if (l == 1) {
        in.x = inputs;
    } else {
        const ConstCols<T> below = output_of(ws, l - 1);
        in.X = below.data();
        in.rows = below.rows();
        in.ld = below.outerStride();
    }
    return in;
}

}  // namespace

template <typename T>
void forward_logits(const Params<T>& params, const std::int32_t* inputs, int T_len, int B,
                    const State<T>& state0, Workspace<T>& ws, const Dropout& dropout) {
    const FlushSubnormals flush;
    const ModelSpec& spec = params.spec();
    ws.prepare(spec, T_len, B);
    ws.dropout = dropout;
    for (auto& layer : ws.layers) layer->parallel = ws.parallel;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    if (dropout.active()) {
        ws.mask.resize(spec.layers);
        ws.dropped.resize(spec.layers);
    }
    if (spec.embedding > 0) {  // e_t = E[:, x_t], column t B + j
        const auto E = params.E();
        for (Eigen::Index col = 0; col < n; ++col)
            ws.Xe.col(col) = E.col(inputs[col % B * T_len + col / B]);
    }
    for (int l = 1; l <= spec.layers; ++l) {
        ws.layers[l - 1]->forward(params, input_of(ws, l, inputs), state0.h_of(l - 1, B),
                                  state0.c_of(l - 1, B), T_len, B);
        if (dropout.active()) {  // what leaves layer l: mask .* h_t
            Mat<T>& mask = ws.mask[l - 1];
            mask.resize(spec.m, n);
            dropout_mask(dropout, l, mask);
            ws.dropped[l - 1].noalias() =
                (mask.array() * ws.layers[l - 1]->hidden().rightCols(n).array()).matrix();
        }
    }
    auto& P = ws.P;
    // Column by column: Eigen's replicate() is evaluated coefficient-wise, and was slow here.
    for (Eigen::Index col = 0; col < n; ++col) P.col(col) = params.c();
    kernels::product_columns(ws.parallel, P, params.V(), output_of(ws, spec.layers),
                             true);  // o_t = V h_t + c
}

template <typename T>
double forward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
               int T_len, int B, const State<T>& state0, Workspace<T>& ws, const Dropout& dropout) {
    forward_logits(params, inputs, T_len, B, state0, ws, dropout);
    ws.nats = kernels::softmax_cross_entropy(ws.P, targets, T_len, B, &ws.predicted);  // p_t
    // (1/B) sum: predicted / T is B exactly when every target counts.
    return ws.predicted ? ws.nats / (double(ws.predicted) / T_len) : 0.0;
}

template <typename T>
void backward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
              Workspace<T>& ws, Params<T>& grads) {
    const FlushSubnormals flush;
    const int T_len = ws.T_len, B = ws.B, L = ws.spec.layers;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    // The loss is a mean over the batch: 1/B, or T/n when only n targets count (exactly 1/B
    // when n = T B: both quotients are the same number, correctly rounded).
    const T scale = ws.predicted ? T(T_len) / T(ws.predicted) : T(0);
    // d_o = (p_t - onehot(y_t)) / B    softmax + cross-entropy; reuses P's storage. The 1/B is
    // left to the products that read d_o (a GEMM's scalar factor costs nothing; a pass over
    // d_o at batch 32 was ~0.5 MB). A column without a target has no loss: d_o = 0.
    auto& d_o = ws.P;
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j) {
            const std::int32_t y = targets[j * T_len + t];
            const Eigen::Index col = Eigen::Index(t) * B + j;
            if (y >= 0)
                d_o(y, col) -= T(1);
            else
                d_o.col(col).setZero();
        }
    Layer<T>& top = *ws.layers.back();
    kernels::product_columns(ws.parallel, grads.V(), scale * d_o,
                             output_of(ws, L).transpose());  // o = V h + c
    kernels::sum_columns(d_o, grads.c());
    if (scale != T(1)) grads.c() *= scale;
    // The top layer's h_t feeds o_t: dh_t = V^T d_o_t, one product for the whole sequence.
    kernels::product_columns(ws.parallel, top.dH(), scale * params.V().transpose(), d_o);
    const bool dropout = ws.dropout.active();
    if (dropout) top.dH().array() *= ws.mask[L - 1].array();  // o_t reads mask .* h_t
    const bool embedding = ws.spec.embedding > 0;
    Cols<T> dE_t(ws.dXe.data(), ws.dXe.rows(), ws.dXe.cols(), Eigen::OuterStride<>(ws.dXe.rows()));
    for (int l = L; l >= 1; --l) {
        // A layer above the first writes dL/dh of the layer below, its input; the first, with
        // an embedding, dL/de_t.
        Cols<T> below = l > 1 ? ws.layers[l - 2]->dH() : dE_t;
        ws.layers[l - 1]->backward(params, input_of(ws, l, inputs), grads,
                                   l > 1 || embedding ? &below : nullptr);
        if (dropout && l > 1) below.array() *= ws.mask[l - 2].array();  // layer l reads mask .* h
    }
    if (embedding) {  // e_t = E[:, x_t]: column x_t of dE gets de_t, added in (t, j) order
        auto dE = grads.E();
        dE.setZero();
        for (int t = 0; t < T_len; ++t)
            for (int j = 0; j < B; ++j)
                dE.col(inputs[j * T_len + t]) += ws.dXe.col(Eigen::Index(t) * B + j);
    }
}

#define CHARRNN_INSTANTIATE(T)                                                                  \
    template struct Workspace<T>;                                                               \
    template double forward<T>(const Params<T>&, const std::int32_t*, const std::int32_t*, int, \
                               int, const State<T>&, Workspace<T>&, const Dropout&);            \
    template void forward_logits<T>(const Params<T>&, const std::int32_t*, int, int,            \
                                    const State<T>&, Workspace<T>&, const Dropout&);            \
    template void backward<T>(const Params<T>&, const std::int32_t*, const std::int32_t*,       \
                              Workspace<T>&, Params<T>&);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
