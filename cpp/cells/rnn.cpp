// The vanilla RNN layer, forward then backward:
//
//   a_t = W h_{t-1} + U x_t + b      // (m)   pre-activation
//   h_t = tanh(a_t)                  // (m)   hidden state
//
// Everything that does not depend on the previous time step (U X for a layer above the first,
// dW, dU) is one matrix product over the whole sequence; only W h_{t-1} forward and W^T da
// backward are sequential, in the register-blocked kernel of kernels/sequential.hpp.
// Not here: the output layer and the loss (model/model.cpp, kernels/softmax.hpp).
#include <algorithm>

#include "cells/layer.hpp"
#include "kernels/activations.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {

namespace {

using namespace kernels;

template <typename T>
class RnnLayer final : public Layer<T> {
public:
    RnnLayer(const ModelSpec& spec, int l) : l_(l), K_(spec.K), m_(spec.m) {}

    void forward(const Params<T>& params, const LayerInput<T>& in,
                 const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>&, int T_len,
                 int B) override;
    void backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                  Cols<T>* dX) override;

    ConstCols<T> hidden() const override {
        return {Hs.data(), m_, Hs.cols(), Eigen::OuterStride<>(mp_)};
    }
    ConstCols<T> cell_state() const override {
        return {Hs.data(), m_, 0, Eigen::OuterStride<>(mp_)};
    }
    Cols<T> dH() override { return {dHout.data(), m_, dHout.cols(), Eigen::OuterStride<>(mp_)}; }

private:
    void resize(int T_len, int B, bool dense);

    int l_, K_, m_;
    int T_len_ = 0, B_ = 0;
    Eigen::Index mp_ = 0;
    bool dense_ = false;
    // Hidden-sized columns are padded with zero rows to mp, a multiple of the SIMD width, so the
    // sequential kernel works in whole vectors; the views above show the m real rows.
    Mat<T> Hs;     // (mp, (T+1) B)  h_0 .. h_T; block 0 is the initial state
    Mat<T> dHout;  // (mp, T B)      dh from above (V^T d_o for the top layer): not sequential
    Mat<T> dA;     // (mp, T B)      da for every step
    // The kernel's copies of W, (m, mp) zero-padded and packed in panels whose width depends
    // on B (kernels/sequential.hpp, pack_panels); empty for a large W, read in place.
    Vec<T> Wt;   // W^T: row j is column j of W
    Vec<T> Wp;   // W
    MatR<T> Ub;  // (K, mp)  layer 1: row k is U's column k plus b, U x_t + b for x_t = k;
                 //          backward reuses it for dU^T once forward is done with it
    Mat<T> Ain;  // (mp, T B) a layer above: U X + b, every step at once
};

template <typename T>
void RnnLayer<T>::resize(int T_len, int B, bool dense) {
    const int mp = (m_ + kLanes<T> - 1) / kLanes<T> * kLanes<T>;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    // The packed copies of W are laid out for the batch size's panel width: a new width needs
    // them re-zeroed (their padding moves), even where the other sizes still fit.
    const bool same_panels = panel_vectors(B_) == panel_vectors(B);
    T_len_ = T_len;
    B_ = B;
    if (Hs.rows() == mp && Hs.cols() == n + B && same_panels && dense_ == dense) return;
    mp_ = mp;
    dense_ = dense;
    // Zeroed once: the padding rows (m .. mp) must be zero and are never written with anything
    // else (the kernels keep them at tanh(0) = 0 and 0 * (1 - 0)).
    Hs.setZero(mp, n + B);
    dHout.setZero(mp, n);
    dA.setZero(mp, n);
    const bool blocked = Eigen::Index(m_) * mp * Eigen::Index(sizeof(T)) <= kBlockedUpTo;
    Wt.setZero(blocked ? Eigen::Index(m_) * mp : 0);
    Wp.setZero(blocked ? Eigen::Index(m_) * mp : 0);
    Ub.setZero(dense ? 0 : K_, mp);
    Ain.setZero(dense ? mp : 0, dense ? n : 0);
}

template <typename T>
void RnnLayer<T>::forward(const Params<T>& params, const LayerInput<T>& in,
                          const Eigen::Ref<const Mat<T>>& h0, const Eigen::Ref<const Mat<T>>&,
                          int T_len, int B) {
    resize(T_len, B, in.dense());
    const int m = m_;
    const Eigen::Index mp = mp_, n = Eigen::Index(T_len) * B;
    const auto W = params.W(l_);
    // Per-call copies in the kernel's layout (a small part of a batch-1 step, repaid by the
    // contiguous reads): W^T for the forward and W for backward, packed in panels, and U's
    // columns with b added so U x_t + b is one contiguous row.
    const bool blocked = Wt.size() > 0;
    if (blocked) {
        pack_panels(W.data(), m, mp, panel_vectors(B), true, Wt.data());
        pack_panels(W.data(), m, mp, panel_vectors(B), false, Wp.data());
    }
    if (in.dense()) {
        Ain.topRows(m).noalias() = params.U(l_) * in.matrix(n);  // U x_t, every step
        Ain.topRows(m).colwise() += params.b(l_);
    } else {
        transpose_into(params.U(l_).data(), m, K_, K_, Ub.data(), mp);
        Ub.leftCols(m).rowwise() += params.b(l_).transpose();
    }
    Hs.topRows(m).leftCols(B) = h0;
    auto steps = [&](auto start_at) {
        for (int t = 0; t < T_len; ++t) {
            // a_t = W h_{t-1} + U x_t + b, all B sequences
            sequential_step<T>(
                blocked ? Wt.data() : nullptr, W, false, m, mp, t % 2 == 1,
                Hs.col(Eigen::Index(t) * B).data(), [&](Eigen::Index c) { return start_at(t, c); },
                [](const Packet<T>& a, Eigen::Index, Eigen::Index) { return a; },
                Hs.col(Eigen::Index(t + 1) * B).data(), B);
            // h_t = tanh(a_t) as its own pass over the B columns (in L1), not inside the
            // kernel's block: there, beside the block's accumulators, the whole step was slower
            // (ab_core.sh; docs/performance.md).
            tanh_inplace(Hs.col(Eigen::Index(t + 1) * B).data(), mp * B);
        }
    };
    if (in.dense())
        steps([&](int t, Eigen::Index c) { return Ain.col(Eigen::Index(t) * B + c).data(); });
    else
        steps([&](int t, Eigen::Index c) { return Ub.row(in.x[c * T_len + t]).data(); });
}

template <typename T>
void RnnLayer<T>::backward(const Params<T>& params, const LayerInput<T>& in, Params<T>& grads,
                           Cols<T>* dX) {
    const int T_len = T_len_, B = B_, m = m_;
    const Eigen::Index n = Eigen::Index(T_len) * B, mp = mp_;
    const auto W = params.W(l_);
    // h_t feeds the layer above and a_{t+1}: dh_t = dHout_t + W^T da_{t+1}. The kernel adds the
    // second part and applies tanh' as it walks back in time.
    for (int t = T_len - 1; t >= 0; --t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        const T* h_t = Hs.col(col + B).data();
        sequential_step<T>(  // da_t = (1 - h_t^2) .* dh_t
            Wp.size() > 0 ? Wp.data() : nullptr, W, true, t + 1 < T_len ? m : 0, mp, t % 2 == 1,
            dA.col(std::min(col + B, n - B)).data(),
            [&](Eigen::Index c) { return dHout.col(col + c).data(); },
            [&](const Packet<T>& dh, Eigen::Index c, Eigen::Index i) {
                using namespace Eigen::internal;
                const Packet<T> h = ploadu<Packet<T>>(h_t + c * mp + i);
                return pmul(dh, psub(pset1<Packet<T>>(T(1)), pmul(h, h)));
            },
            dA.col(col).data(), B);
    }
    const auto dAm = dA.topRows(m);
    const auto H_prev = Hs.topRows(m).leftCols(n);     // h_0 .. h_{T-1}
    grads.W(l_).noalias() = dAm * H_prev.transpose();  // a = W h_{t-1} + U x + b
    sum_columns(dAm, grads.b(l_));
    if (in.dense()) {
        grads.U(l_).noalias() = dAm * in.matrix(n).transpose();  // a = ... + U x_t
        dX->noalias() = params.U(l_).transpose() * dAm;          // x_t is h_t of the layer below
        return;
    }
    // dU's column x_t gets da_t. Added as rows of dU^T (whole vectors; a column of the row-major
    // dU is a strided scalar loop), in Ub's storage, which only forward reads; then one
    // transpose into dU. Ub's padding columns stay zero, as forward needs: da's padding rows
    // are zero.
    auto& dU_T = Ub;
    dU_T.setZero();
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            dU_T.row(in.x[j * T_len + t]) += dA.col(Eigen::Index(t) * B + j).transpose();
    transpose_into(dU_T.data(), dU_T.rows(), Eigen::Index(m), mp, grads.U(l_).data(), dU_T.rows());
}

}  // namespace

template <typename T>
std::unique_ptr<Layer<T>> make_rnn_layer(const ModelSpec& spec, int l) {
    return std::make_unique<RnnLayer<T>>(spec, l);
}

template std::unique_ptr<Layer<double>> make_rnn_layer<double>(const ModelSpec&, int);
template std::unique_ptr<Layer<float>> make_rnn_layer<float>(const ModelSpec&, int);

}  // namespace charrnn
