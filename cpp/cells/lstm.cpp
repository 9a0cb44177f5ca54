// The LSTM layer, forward then backward (PyTorch's gate order, no peepholes):
//
//   z_t = W h_{t-1} + U x_t + b                 // (4m)  rows [i f g o]
//   i = sigmoid(z_i)  f = sigmoid(z_f)  g = tanh(z_g)  o = sigmoid(z_o)
//   c_t = f .* c_{t-1} + i .* g                 // (m)   cell state
//   h_t = o .* tanh(c_t)                        // (m)   hidden state
//
// The input projection of the whole sequence is one product (a gather for characters); only
// W h_{t-1} forward and W^T dz backward are sequential, in the gated kernel of
// kernels/recurrent.hpp, whose register blocks end in the elementwise equations below (the
// `finish` lambdas): each time step is one pass. Forget-gate bias starts at 1 (layout).
#include "cells/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/gemm.hpp"
#include "kernels/recurrent.hpp"

namespace charrnn {

namespace {

using namespace kernels;

template <typename T>
class LstmLayer final : public Layer<T> {
public:
    LstmLayer(const ModelSpec& spec, int l) : l_(l), m_(spec.m), mp_(padded<T>(spec.m)) {}

    void forward(const Params<T>& params, const LayerInput<T>& in,
                 const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>& c0, int T_len,
                 int B) override;
    void backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                  Cols<T>* dX) override;

    ConstCols<T> hidden() const override {
        return {H.data(), m_, H.cols(), Eigen::OuterStride<>(mp_)};
    }
    ConstCols<T> cell_state() const override {
        return {C.data(), m_, C.cols(), Eigen::OuterStride<>(mp_)};
    }
    Cols<T> dH() override { return {dHin.data(), m_, dHin.cols(), Eigen::OuterStride<>(mp_)}; }
    int gate_count() const override { return 4; }
    ConstCols<T> gate(int g) const override {  // forward leaves [i f g o] in Z
        return {Z.data() + g * mp_, m_, Z.cols(), Eigen::OuterStride<>(4 * mp_)};
    }

private:
    void resize(int T_len, int B);

    int l_;
    Eigen::Index m_, mp_;
    int T_len_ = 0, B_ = 0;
    // Hidden-sized columns are padded to mp rows (kernels/recurrent.hpp); the padding rows of
    // H, C, dHin and dc are zeroed when allocated and stay zero (padding units have zero
    // weights: z = 0, so c = 0.5 c + 0.5 0 = 0, h = 0, and every gradient there is 0).
    Mat<T> Z;                  // (4mp, T B)     z_t, then the gates [i f g o] in place
    Mat<T> C;                  // (mp, (T+1) B)  c_0 .. c_T
    Mat<T> Tc;                 // (mp, T B)      tanh(c_t)
    Mat<T> H;                  // (mp, (T+1) B)  h_0 .. h_T
    Mat<T> dHin;               // (mp, T B)      dh from above
    Mat<T> dZ;                 // (4mp, T B)
    Mat<T> dc;                 // (mp, B)        dL/dc_t through step t+1
    PackedGates<T, 4> packed;  // W's copies for the time steps, packed once per sequence
    MatR<T> table;  // (K, 4mp)       layer 1: U x + b by character; backward's dU^T scratch
};

template <typename T>
void LstmLayer<T>::resize(int T_len, int B) {
    const Eigen::Index mp = mp_, n = Eigen::Index(T_len) * B;
    T_len_ = T_len;
    B_ = B;
    if (H.cols() != n + B) {
        C.setZero(mp, n + B);
        Tc.setZero(mp, n);
        H.setZero(mp, n + B);
        dHin.setZero(mp, n);
        dZ.setZero(4 * mp, n);
    }
}

template <typename T>
void LstmLayer<T>::forward(const Params<T>& params, const LayerInput<T>& in,
                           const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>& c0,
                           int T_len, int B) {
    using namespace Eigen::internal;
    using P = Packet<T>;
    constexpr int L = kLanes<T>;
    resize(T_len, B);
    const Eigen::Index m = m_, mp = mp_;
    packed.pack(params.W(l_).data(), m, B);
    input_forward(params, l_, in, T_len, B, table, Z, this->parallel);  // z_t = U x_t + b + ...
    H.topRows(m).leftCols(B) = h0;
    C.topRows(m).leftCols(B) = c0;
    for (int t = 0; t < T_len; ++t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        // Vector q of a block is gate q % 4 of unit vector q / 4 (the forward packing).
        const auto start = [&](P* acc, int np, Eigen::Index c, Eigen::Index q0) {
            const T* z = Z.col(col + c).data();
            for (int p = 0; p < np; ++p)
                acc[p] = ploadu<P>(z + (q0 + p) % 4 * mp + (q0 + p) / 4 * L);  // U x_t + b
        };
        const auto finish = [&](P* acc, int np, Eigen::Index c, Eigen::Index q0) {
            T* z = Z.col(col + c).data();
            const T* c_prev = C.col(col + c).data();
            T* c_t = C.col(col + B + c).data();
            T* tc = Tc.col(col + c).data();
            T* h = H.col(col + B + c).data();
            for (int p = 0; p < np; p += 4) {
                const Eigen::Index u = (q0 + p) / 4 * L;  // first unit
                const P i = sigmoid_p<T>(acc[p]), f = sigmoid_p<T>(acc[p + 1]);
                const P g = tanh_p<T>(acc[p + 2]), o = sigmoid_p<T>(acc[p + 3]);
                const P cn = padd(pmul(f, ploadu<P>(c_prev + u)), pmul(i, g));  // c_t
                const P tcn = tanh_p<T>(cn);
                pstoreu(z + u, i);
                pstoreu(z + mp + u, f);
                pstoreu(z + 2 * mp + u, g);
                pstoreu(z + 3 * mp + u, o);
                pstoreu(c_t + u, cn);
                pstoreu(tc + u, tcn);
                pstoreu(h + u, pmul(o, tcn));  // h_t = o tanh(c_t)
            }
        };
        // z_t = W h_{t-1} + ..., then the gates, c_t and h_t
        gated_forward_step<T, 4>(packed.forward.data(), m, H.col(col).data(), mp, start, finish, B,
                                 this->parallel);
    }
}

template <typename T>
void LstmLayer<T>::backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                            Cols<T>* dX) {
    using namespace Eigen::internal;
    using P = Packet<T>;
    constexpr int L = kLanes<T>;
    const int T_len = T_len_, B = B_;
    const Eigen::Index m = m_, mp = mp_, n = Eigen::Index(T_len) * B;
    const P one = pset1<P>(T(1));
    dc.setZero(mp, B);
    for (int t = T_len - 1; t >= 0; --t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        // h_t feeds above and z_{t+1}: dh = dHin_t + W^T dz_{t+1}
        const auto start = [&](P* acc, int np, Eigen::Index c, Eigen::Index v0) {
            const T* dh_in = dHin.col(col + c).data();
            for (int p = 0; p < np; ++p) acc[p] = ploadu<P>(dh_in + (v0 + p) * L);
        };
        const auto finish = [&](P* acc, int np, Eigen::Index c, Eigen::Index v0) {
            const T* z = Z.col(col + c).data();
            const T* tc_t = Tc.col(col + c).data();
            const T* c_prev = C.col(col + c).data();
            T* dz = dZ.col(col + c).data();
            T* dc_c = dc.col(c).data();
            for (int p = 0; p < np; ++p) {
                const Eigen::Index u = (v0 + p) * L;
                const P dh = acc[p];
                const P i = ploadu<P>(z + u), f = ploadu<P>(z + mp + u);
                const P g = ploadu<P>(z + 2 * mp + u), o = ploadu<P>(z + 3 * mp + u);
                const P tc = ploadu<P>(tc_t + u);
                // h = o tanh(c), o = sigmoid
                pstoreu(dz + 3 * mp + u, pmul(pmul(pmul(dh, tc), o), psub(one, o)));
                // c_t feeds h_t and c_{t+1}
                const P dct = padd(ploadu<P>(dc_c + u), pmul(pmul(dh, o), psub(one, pmul(tc, tc))));
                // c = f c_{t-1} + i g
                pstoreu(dz + u, pmul(pmul(pmul(dct, g), i), psub(one, i)));
                pstoreu(dz + mp + u, pmul(pmul(pmul(dct, ploadu<P>(c_prev + u)), f), psub(one, f)));
                pstoreu(dz + 2 * mp + u, pmul(pmul(dct, i), psub(one, pmul(g, g))));  // g = tanh
                pstoreu(dc_c + u, pmul(dct, f));  // dc_{t-1} through c = f c_{t-1}
            }
        };
        const bool next = t + 1 < T_len;
        gated_backward_step<T, 4>(packed.backward.data(), m, next,
                                  next ? dZ.col(col + B).data() : dZ.data(), 4 * mp, start, finish,
                                  B, this->parallel);
    }
    // z = W h_{t-1} + U x + b
    const auto H_prev = H.topRows(m).leftCols(n);
    auto dW = grads.W(l_);
    if (mp == m)
        gradient_product(dZ.data(), 4 * m, 4 * mp, H.data(), m, mp, n, dW.data(), this->parallel);
    else
        for (Eigen::Index g = 0; g < 4; ++g)
            dW.middleRows(g * m, m).noalias() = dZ.middleRows(g * mp, m) * H_prev.transpose();
    input_backward(params, l_, in, T_len, B, dZ, table, grads, dX, this->parallel);
}

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> make_lstm_layer(const ModelSpec& spec, int l) {
    return std::make_unique<LstmLayer<T>>(spec, l);
}

template std::unique_ptr<Layer<double>> make_lstm_layer<double>(const ModelSpec&, int);
template std::unique_ptr<Layer<float>> make_lstm_layer<float>(const ModelSpec&, int);

}  // namespace charrnn
