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
// W h_{t-1} forward and W^T da backward are sequential, in the gated kernel of
// kernels/recurrent.hpp, whose register blocks end in the elementwise equations below (the
// `finish` lambdas): each time step is one pass.
#include "cells/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/gemm.hpp"
#include "kernels/recurrent.hpp"

namespace charrnn {

namespace {

using namespace kernels;

template <typename T>
class GruLayer final : public Layer<T> {
public:
    GruLayer(const ModelSpec& spec, int l) : l_(l), m_(spec.m), mp_(padded<T>(spec.m)) {}

    void forward(const Params<T>& params, const LayerInput<T>& in,
                 const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>&, int T_len,
                 int B) override;
    void backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                  Cols<T>* dX) override;

    ConstCols<T> hidden() const override {
        return {H.data(), m_, H.cols(), Eigen::OuterStride<>(mp_)};
    }
    ConstCols<T> cell_state() const override {
        return {H.data(), m_, 0, Eigen::OuterStride<>(mp_)};
    }
    Cols<T> dH() override { return {dHin.data(), m_, dHin.cols(), Eigen::OuterStride<>(mp_)}; }
    int gate_count() const override { return 3; }
    ConstCols<T> gate(int g) const override {  // forward leaves [r z n] in X
        return {X.data() + g * mp_, m_, X.cols(), Eigen::OuterStride<>(3 * mp_)};
    }

private:
    void resize(int T_len, int B);

    int l_;
    Eigen::Index m_, mp_;
    int T_len_ = 0, B_ = 0;
    // Hidden-sized columns are padded to mp rows (kernels/recurrent.hpp); the padding rows of
    // H, dHin and dh are zeroed when allocated and stay zero (padding units have zero weights
    // and bias: r = z = 1/2, hn = 0, n = 0, h = h_{t-1} / 2 = 0, and every gradient there is 0).
    Mat<T> X;     // (3mp, T B)     U x_t + b; then [r z n] in place
    Mat<T> Hn;    // (mp, T B)      hn = W_n h_{t-1} + b_hn
    Mat<T> H;     // (mp, (T+1) B)  h_0 .. h_T
    Mat<T> dHin;  // (mp, T B)      dh from above
    Mat<T> dX_;   // (3mp, T B)     d(U x_t + b): [da_r da_z da_n]
    Mat<T> dA;    // (3mp, T B)     d(W h_{t-1} + [0 0 b_hn]): [da_r da_z r .* da_n]
    Mat<T> dh;    // (mp, B)        dL/dh_t, kept for step t-1 (through h = ... + z h_{t-1})
    Vec<T> bn;    // (mp)           b_hn, zero-padded
    PackedGates<T, 3> packed;  // W's copies for the time steps, packed once per sequence
    MatR<T> table;  // (K, 3mp)       layer 1: U x + b by character; backward's dU^T scratch
};

template <typename T>
void GruLayer<T>::resize(int T_len, int B) {
    const Eigen::Index mp = mp_, n = Eigen::Index(T_len) * B;
    T_len_ = T_len;
    B_ = B;
    if (H.cols() != n + B) {
        Hn.setZero(mp, n);
        H.setZero(mp, n + B);
        dHin.setZero(mp, n);
        dX_.setZero(3 * mp, n);
        dA.setZero(3 * mp, n);
        bn.setZero(mp);
    }
}

template <typename T>
void GruLayer<T>::forward(const Params<T>& params, const LayerInput<T>& in,
                          const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>&,
                          int T_len, int B) {
    using namespace Eigen::internal;
    using P = Packet<T>;
    constexpr int L = kLanes<T>;
    resize(T_len, B);
    const Eigen::Index m = m_, mp = mp_;
    packed.pack(params.W(l_).data(), m, B);
    bn.head(m) = params.bn(l_);
    input_forward(params, l_, in, T_len, B, table, X, this->parallel);  // U x_t + b
    H.topRows(m).leftCols(B) = h0;
    const P one = pset1<P>(T(1));
    for (int t = 0; t < T_len; ++t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        // Vector q of a block is gate q % 3 of unit vector q / 3 (the forward packing).
        const auto start = [&](P* acc, int np, Eigen::Index c, Eigen::Index q0) {
            const T* x = X.col(col + c).data();
            for (int p = 0; p < np; ++p) {
                const Eigen::Index g = (q0 + p) % 3, u = (q0 + p) / 3 * L;
                acc[p] = g < 2 ? ploadu<P>(x + g * mp + u)  // a_r, a_z: U x_t + b + ...
                               : ploadu<P>(bn.data() + u);  // hn = b_hn + ...
            }
        };
        const auto finish = [&](P* acc, int np, Eigen::Index c, Eigen::Index q0) {
            T* x = X.col(col + c).data();
            T* hn = Hn.col(col + c).data();
            const T* h_prev = H.col(col + c).data();
            T* h = H.col(col + B + c).data();
            for (int p = 0; p < np; p += 3) {
                const Eigen::Index u = (q0 + p) / 3 * L;  // first unit
                const P r = sigmoid_p<T>(acc[p]), z = sigmoid_p<T>(acc[p + 1]);
                const P n = tanh_p<T>(padd(ploadu<P>(x + 2 * mp + u), pmul(r, acc[p + 2])));
                pstoreu(x + u, r);
                pstoreu(x + mp + u, z);
                pstoreu(x + 2 * mp + u, n);
                pstoreu(hn + u, acc[p + 2]);
                // h_t = (1 - z) n + z h_{t-1}
                pstoreu(h + u, padd(pmul(psub(one, z), n), pmul(z, ploadu<P>(h_prev + u))));
            }
        };
        // W h_{t-1} + ..., then the gates and h_t
        gated_forward_step<T, 3>(packed.forward.data(), m, H.col(col).data(), mp, start, finish, B,
                                 this->parallel);
    }
}

template <typename T>
void GruLayer<T>::backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                           Cols<T>* dX) {
    using namespace Eigen::internal;
    using P = Packet<T>;
    constexpr int L = kLanes<T>;
    const int T_len = T_len_, B = B_;
    const Eigen::Index m = m_, mp = mp_, n = Eigen::Index(T_len) * B;
    const P one = pset1<P>(T(1));
    dh.setZero(mp, B);
    for (int t = T_len - 1; t >= 0; --t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        const bool next = t + 1 < T_len;
        // h_t feeds above and step t+1, through z_{t+1} h_t and W h_t:
        // dh_t = dHin_t + z_{t+1} dh_{t+1} + W^T da_{t+1}
        const auto start = [&](P* acc, int np, Eigen::Index c, Eigen::Index v0) {
            const T* dh_in = dHin.col(col + c).data();
            const T* z_next = X.col(col + B + c).data() + mp;  // read only when next
            const T* dh_next = dh.col(c).data();
            for (int p = 0; p < np; ++p) {
                const Eigen::Index u = (v0 + p) * L;
                acc[p] = ploadu<P>(dh_in + u);
                if (next) acc[p] = pmadd(ploadu<P>(z_next + u), ploadu<P>(dh_next + u), acc[p]);
            }
        };
        const auto finish = [&](P* acc, int np, Eigen::Index c, Eigen::Index v0) {
            const T* x = X.col(col + c).data();
            const T* h_prev = H.col(col + c).data();
            const T* hn = Hn.col(col + c).data();
            T* dx = dX_.col(col + c).data();
            T* da = dA.col(col + c).data();
            T* dh_c = dh.col(c).data();
            for (int p = 0; p < np; ++p) {
                const Eigen::Index u = (v0 + p) * L;
                const P d = acc[p];
                const P r = ploadu<P>(x + u), z = ploadu<P>(x + mp + u);
                const P nn = ploadu<P>(x + 2 * mp + u);
                // h = (1 - z) n + z h_{t-1}; n = tanh(a_n): da_n = dh (1 - z) (1 - n^2)
                const P dan = pmul(pmul(d, psub(one, z)), psub(one, pmul(nn, nn)));
                // z = sigmoid
                const P daz = pmul(pmul(pmul(d, psub(ploadu<P>(h_prev + u), nn)), z), psub(one, z));
                // a_n = U_n x + b_in + r hn: dr = da_n hn, r = sigmoid
                const P dar = pmul(pmul(pmul(dan, ploadu<P>(hn + u)), r), psub(one, r));
                pstoreu(dx + u, dar);
                pstoreu(dx + mp + u, daz);
                pstoreu(dx + 2 * mp + u, dan);
                pstoreu(da + u, dar);  // a_rz = ... + W_rz h_{t-1}
                pstoreu(da + mp + u, daz);
                pstoreu(da + 2 * mp + u, pmul(dan, r));  // hn = W_n h_{t-1} + b_hn
                pstoreu(dh_c + u, d);
            }
        };
        gated_backward_step<T, 3>(packed.backward.data(), m, next,
                                  next ? dA.col(col + B).data() : dA.data(), 3 * mp, start, finish,
                                  B, this->parallel);
    }
    // W h_{t-1}
    const auto H_prev = H.topRows(m).leftCols(n);
    auto dW = grads.W(l_);
    if (mp == m)
        gradient_product(dA.data(), 3 * m, 3 * mp, H.data(), m, mp, n, dW.data(), this->parallel);
    else
        for (Eigen::Index g = 0; g < 3; ++g)
            dW.middleRows(g * m, m).noalias() = dA.middleRows(g * mp, m) * H_prev.transpose();
    kernels::sum_columns(dA.middleRows(2 * mp, m), grads.bn(l_));  // hn = ... + b_hn
    input_backward(params, l_, in, T_len, B, dX_, table, grads, dX,
                   this->parallel);  // U x_t + b
}

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> make_gru_layer(const ModelSpec& spec, int l) {
    return std::make_unique<GruLayer<T>>(spec, l);
}

template std::unique_ptr<Layer<double>> make_gru_layer<double>(const ModelSpec&, int);
template std::unique_ptr<Layer<float>> make_gru_layer<float>(const ModelSpec&, int);

}  // namespace charrnn
