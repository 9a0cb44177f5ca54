// The GRU layer, forward then backward, in PyTorch's and cuDNN's form (r multiplies W_n h + b_hn,
// after the product), so weights convert to and from torch.nn.GRU one to one:
//
//   [a_r a_z] = U_rz x_t + b_rz + W_rz h_{t-1}      // (2m)  rows [r z] of U, b, W
//   r = sigmoid(a_r)  z = sigmoid(a_z)
//   hn = W_n h_{t-1} + b_hn                          // (m)   b_hn is the layout's bn
//   n = tanh(U_n x_t + b_in + r .* hn)               // (m)
//   h_t = (1 - z) .* n + z .* h_{t-1}                // (m)
//
// The input projection of the whole sequence is one product (a gather for characters); only
// W h_{t-1} forward and W^T da backward are sequential.
#include "cells/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {

namespace {

using namespace kernels;

template <typename T>
class GruLayer final : public Layer<T> {
public:
    GruLayer(const ModelSpec& spec, int l) : l_(l), m_(spec.m) {}

    void forward(const Params<T>& params, const LayerInput<T>& in,
                 const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>&, int T_len,
                 int B) override;
    void backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                  Cols<T>* dX) override;

    ConstCols<T> hidden() const override { return {H.data(), m_, H.cols(), Eigen::OuterStride<>(m_)}; }
    ConstCols<T> cell_state() const override { return {H.data(), m_, 0, Eigen::OuterStride<>(m_)}; }
    Cols<T> dH() override { return {dHin.data(), m_, dHin.cols(), Eigen::OuterStride<>(m_)}; }

private:
    int l_, m_;
    int T_len_ = 0, B_ = 0;
    Mat<T> X;       // (3m, T B)     U x_t + b; then [r z n] in place
    Mat<T> Hn;      // (m, T B)      hn = W_n h_{t-1} + b_hn
    Mat<T> A;       // (3m, B)       W h_{t-1} of one step
    Mat<T> H;       // (m, (T+1) B)  h_0 .. h_T
    Mat<T> dHin;    // (m, T B)      dh from above
    Mat<T> dX_;     // (3m, T B)     d(U x_t + b): [da_r da_z da_n]
    Mat<T> dA;      // (3m, T B)     d(W h_{t-1} + [0 0 b_hn]): [da_r da_z r .* da_n]
    Mat<T> dh;      // (m, B)        dL/dh_t through step t+1
    MatR<T> table;  // (K, 3m)       layer 1: U x + b by character; backward's dU^T scratch
};

template <typename T>
void GruLayer<T>::forward(const Params<T>& params, const LayerInput<T>& in,
                          const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>&,
                          int T_len, int B) {
    const Eigen::Index m = m_, n = Eigen::Index(T_len) * B;
    T_len_ = T_len;
    B_ = B;
    Hn.resize(m, n);
    H.resize(m, n + B);
    dHin.resize(m, n);
    input_forward(params, l_, in, T_len, B, table, X);              // U x_t + b
    H.leftCols(B) = h0;
    const auto W = params.W(l_);
    const auto bn = params.bn(l_);
    for (int t = 0; t < T_len; ++t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        auto x = X.middleCols(col, B);
        const auto h_prev = H.middleCols(col, B);
        A.noalias() = W * h_prev;                                   // W h_{t-1}
        x.topRows(2 * m) += A.topRows(2 * m);                       // a_r, a_z
        auto hn = Hn.middleCols(col, B);
        hn = A.bottomRows(m);
        hn.colwise() += bn;                                         // hn = W_n h + b_hn
        for (int j = 0; j < B; ++j) sigmoid_inplace(x.col(j).data(), 2 * m);  // r, z
        x.bottomRows(m).array() += x.topRows(m).array() * hn.array();         // + r hn
        for (int j = 0; j < B; ++j) tanh_inplace(x.col(j).data() + 2 * m, m);  // n
        const auto z = x.middleRows(m, m).array(), nn = x.bottomRows(m).array();
        H.middleCols(col + B, B).array() = (T(1) - z) * nn + z * h_prev.array();  // h_t
    }
}

template <typename T>
void GruLayer<T>::backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                           Cols<T>* dX) {
    const int T_len = T_len_, B = B_;
    const Eigen::Index m = m_, n = Eigen::Index(T_len) * B;
    const auto W = params.W(l_);
    dX_.resize(3 * m, n);
    dA.resize(3 * m, n);
    dh.setZero(m, B);
    for (int t = T_len - 1; t >= 0; --t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        const auto x = X.middleCols(col, B);
        const auto r = x.topRows(m).array(), z = x.middleRows(m, m).array();
        const auto nn = x.bottomRows(m).array();
        const auto h_prev = H.middleCols(col, B).array();
        const auto hn = Hn.middleCols(col, B).array();
        auto dx = dX_.middleCols(col, B);
        auto da = dA.middleCols(col, B);
        dh += dHin.middleCols(col, B);                              // h_t feeds above and step t+1
        // h = (1 - z) n + z h_{t-1}; n = tanh(a_n): da_n = dh (1 - z) (1 - n^2)
        dx.bottomRows(m).array() = dh.array() * (T(1) - z) * (T(1) - nn * nn);
        dx.middleRows(m, m).array() = dh.array() * (h_prev - nn) * z * (T(1) - z);  // z = sigmoid
        // a_n = U_n x + b_in + r hn: dr = da_n hn, dhn = da_n r
        dx.topRows(m).array() = dx.bottomRows(m).array() * hn * r * (T(1) - r);     // r = sigmoid
        da.topRows(2 * m) = dx.topRows(2 * m);                      // a_rz = ... + W_rz h_{t-1}
        da.bottomRows(m).array() = dx.bottomRows(m).array() * r;    // hn = W_n h_{t-1} + b_hn
        dh.array() *= z;                                            // h = ... + z h_{t-1}
        if (t > 0) dh.noalias() += W.transpose() * da;              // W h_{t-1}
    }
    grads.W(l_).noalias() = dA * H.leftCols(n).transpose();         // W h_{t-1}
    kernels::sum_columns(dA.bottomRows(m), grads.bn(l_));           // hn = ... + b_hn
    input_backward(params, l_, in, T_len, B, dX_, table, grads, dX);  // U x_t + b
}

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> make_gru_layer(const ModelSpec& spec, int l) {
    return std::make_unique<GruLayer<T>>(spec, l);
}

template std::unique_ptr<Layer<double>> make_gru_layer<double>(const ModelSpec&, int);
template std::unique_ptr<Layer<float>> make_gru_layer<float>(const ModelSpec&, int);

}  // namespace charrnn
