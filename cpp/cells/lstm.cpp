// The LSTM layer, forward then backward (PyTorch's gate order, no peepholes):
//
//   z_t = W h_{t-1} + U x_t + b                 // (4m)  rows [i f g o]
//   i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
//   c_t = f .* c_{t-1} + i .* g                 // (m)   cell state
//   h_t = o .* tanh(c_t)                        // (m)   hidden state
//
// The input projection of the whole sequence is one product (a gather for characters); only
// W h_{t-1} forward and W^T dz backward are sequential. Forget-gate bias starts at 1 (layout).
#include "cells/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {

namespace {

using namespace kernels;

template <typename T>
class LstmLayer final : public Layer<T> {
public:
    LstmLayer(const ModelSpec& spec, int l) : l_(l), m_(spec.m) {}

    void forward(const Params<T>& params, const LayerInput<T>& in,
                 const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>& c0,
                 int T_len, int B) override;
    void backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                  Cols<T>* dX) override;

    ConstCols<T> hidden() const override { return {H.data(), m_, H.cols(), Eigen::OuterStride<>(m_)}; }
    ConstCols<T> cell_state() const override { return {C.data(), m_, C.cols(), Eigen::OuterStride<>(m_)}; }
    Cols<T> dH() override { return {dHin.data(), m_, dHin.cols(), Eigen::OuterStride<>(m_)}; }

private:
    int l_, m_;
    int T_len_ = 0, B_ = 0;
    Mat<T> Z;       // (4m, T B)     z_t, then the gates [i f g o] in place
    Mat<T> C;       // (m, (T+1) B)  c_0 .. c_T
    Mat<T> Tc;      // (m, T B)      tanh(c_t)
    Mat<T> H;       // (m, (T+1) B)  h_0 .. h_T
    Mat<T> dHin;    // (m, T B)      dh from above
    Mat<T> dZ;      // (4m, T B)
    Mat<T> dh, dc;  // (m, B)        dL/dh_t, dL/dc_t through step t+1
    MatR<T> table;  // (K, 4m)       layer 1: U x + b by character; backward's dU^T scratch
};

template <typename T>
void LstmLayer<T>::forward(const Params<T>& params, const LayerInput<T>& in,
                           const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>& c0,
                           int T_len, int B) {
    const Eigen::Index m = m_, n = Eigen::Index(T_len) * B;
    T_len_ = T_len;
    B_ = B;
    C.resize(m, n + B);
    Tc.resize(m, n);
    H.resize(m, n + B);
    dHin.resize(m, n);
    input_forward(params, l_, in, T_len, B, table, Z);              // z_t = U x_t + b + ...
    H.leftCols(B) = h0;
    C.leftCols(B) = c0;
    const auto W = params.W(l_);
    for (int t = 0; t < T_len; ++t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        auto z = Z.middleCols(col, B);
        z.noalias() += W * H.middleCols(col, B);                    // z_t = W h_{t-1} + ...
        for (int j = 0; j < B; ++j) {
            T* g = z.col(j).data();
            sigmoid_inplace(g, 2 * m);                              // i, f
            tanh_inplace(g + 2 * m, m);                             // g
            sigmoid_inplace(g + 3 * m, m);                          // o
        }
        auto i = z.topRows(m).array(), f = z.middleRows(m, m).array();
        auto g = z.middleRows(2 * m, m).array(), o = z.bottomRows(m).array();
        C.middleCols(col + B, B).array() = f * C.middleCols(col, B).array() + i * g;  // c_t
        Tc.middleCols(col, B) = C.middleCols(col + B, B);
        tanh_inplace(Tc.col(col).data(), m * B);
        H.middleCols(col + B, B).array() = o * Tc.middleCols(col, B).array();       // h_t
    }
}

template <typename T>
void LstmLayer<T>::backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                            Cols<T>* dX) {
    const int T_len = T_len_, B = B_;
    const Eigen::Index m = m_, n = Eigen::Index(T_len) * B;
    const auto W = params.W(l_);
    dZ.resize(4 * m, n);
    dh.setZero(m, B);
    dc.setZero(m, B);
    for (int t = T_len - 1; t >= 0; --t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        const auto z = Z.middleCols(col, B);
        const auto i = z.topRows(m).array(), f = z.middleRows(m, m).array();
        const auto g = z.middleRows(2 * m, m).array(), o = z.bottomRows(m).array();
        const auto tc = Tc.middleCols(col, B).array();
        auto dz = dZ.middleCols(col, B);
        dh += dHin.middleCols(col, B);                              // h_t feeds above and z_{t+1}
        dz.bottomRows(m).array() = dh.array() * tc * o * (T(1) - o);   // h = o tanh(c), o = sigmoid
        dc.array() += dh.array() * o * (T(1) - tc * tc);               // c_t feeds h_t and c_{t+1}
        dz.topRows(m).array() = dc.array() * g * i * (T(1) - i);       // c = f c_{t-1} + i g
        dz.middleRows(m, m).array() = dc.array() * C.middleCols(col, B).array() * f * (T(1) - f);
        dz.middleRows(2 * m, m).array() = dc.array() * i * (T(1) - g * g);  // g = tanh
        dc.array() *= f;                                            // dc_{t-1} through c = f c_{t-1}
        if (t > 0) dh.noalias() = W.transpose() * dz;               // z = W h_{t-1} + ...
    }
    grads.W(l_).noalias() = dZ * H.leftCols(n).transpose();         // z = W h_{t-1} + U x + b
    input_backward(params, l_, in, T_len, B, dZ, table, grads, dX);
}

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> make_lstm_layer(const ModelSpec& spec, int l) {
    return std::make_unique<LstmLayer<T>>(spec, l);
}

template std::unique_ptr<Layer<double>> make_lstm_layer<double>(const ModelSpec&, int);
template std::unique_ptr<Layer<float>> make_lstm_layer<float>(const ModelSpec&, int);

}  // namespace charrnn
