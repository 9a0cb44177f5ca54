// Forward pass, backpropagation through time and the sampling step of the vanilla RNN.
// Everything that does not depend on the previous time step (V H, dV, dW, V^T dO) is one matrix
// product over the whole sequence; only W h_{t-1} forward and W^T da backward are sequential.
#include "rnn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

namespace charrnn {

namespace {

// tanh(x) for double, vectorised. Eigen 3.4 vectorises tanh only for float; for double it calls
// libm's tanh one element at a time, which was a quarter of a training step. This is Cephes'
// tanh on Eigen packets: x + x^3 P(x^2)/Q(x^2) for |x| < 0.625 (relative error ~1e-16, no
// cancellation near 0), else (e - 1)/(e + 1) with e = exp(2|x|) and the sign of x. Both branches
// are written as a fraction so a packet pays one division, not two. |x| is capped at 20 first:
// tanh(20) rounds to 1 in double, and exp(40) cannot overflow. NaN stays NaN.
Eigen::internal::packet_traits<double>::type tanh_packet(
    const Eigen::internal::packet_traits<double>::type& x) {
    using namespace Eigen::internal;
    using P = packet_traits<double>::type;
    const P one = pset1<P>(1.0);
    const P a = pmin(pabs(x), pset1<P>(20.0));
    const P z = pmul(x, x);
    const P num = pmadd(pmadd(pset1<P>(-9.64399179425052238628e-1), z,
                              pset1<P>(-9.92877231001918586564e1)),
                        z, pset1<P>(-1.61468768441708447952e3));
    const P den = pmadd(pmadd(padd(z, pset1<P>(1.12811678491632931402e2)), z,
                              pset1<P>(2.23548839060100448583e3)),
                        z, pset1<P>(4.84406305325125486048e3));
    const P e = pexp(padd(a, a));
    const P small = pcmp_lt(a, pset1<P>(0.625));
    // small: x + x z num/den = x (den + z num) / den;   large: (e - 1) / (e + 1)
    const P top = pselect(small, pmul(x, pmadd(z, num, den)), psub(e, one));
    const P bottom = pselect(small, den, padd(e, one));
    const P r = pdiv(top, bottom);
    return pselect(small, r, pselect(pcmp_lt(x, pzero(x)), pnegate(r), r));
}

// x <- tanh(x) over n contiguous values.
template <typename T>
void tanh_inplace(T* x, Eigen::Index n) {
    if constexpr (std::is_same_v<T, double>) {
        using namespace Eigen::internal;
        using P = packet_traits<double>::type;
        constexpr Eigen::Index L = packet_traits<double>::size;
        Eigen::Index i = 0;
        for (; i + L <= n; i += L) pstoreu(x + i, tanh_packet(ploadu<P>(x + i)));
        for (; i < n; ++i) x[i] = std::tanh(x[i]);
    } else {
        // Eigen's float tanh is already a vectorised rational approximation.
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> v(x, n);
        v = v.tanh();
    }
}

}  // namespace

template <typename T>
void Params<T>::init_normal(double sig, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> normal(0.0, sig);
    flat.setZero();
    // W, U, V are adjacent in the flat block: one loop draws them in row-major order.
    for (Eigen::Index i = 0; i < offset_b(); ++i) flat[i] = T(normal(gen));
}

template <typename T>
void Workspace<T>::resize(int K, int m, int T_len_, int B_) {
    T_len = T_len_;
    B = B_;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    Hs.resize(m, n + B);
    P.resize(K, n);
    dHout.resize(m, n);
    dA.resize(m, n);
    col_max.resize(n);
    col_sum.resize(n);
}

template <typename T>
double forward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
               int T_len, int B, const Eigen::Ref<const Mat<T>>& h0, Workspace<T>& ws) {
    ws.resize(params.K, params.m, T_len, B);
    const auto W = params.W();
    const auto U = params.U();
    const auto b = params.b();
    ws.Hs.leftCols(B) = h0;
    for (int t = 0; t < T_len; ++t) {
        auto h_prev = ws.Hs.middleCols(Eigen::Index(t) * B, B);
        auto h = ws.Hs.middleCols(Eigen::Index(t + 1) * B, B);
        for (int j = 0; j < B; ++j) h.col(j) = U.col(inputs[j * T_len + t]) + b;  // U x_t + b
        h.noalias() += W * h_prev;                                    //  + W h_{t-1} = a_t
        tanh_inplace(h.data(), h.size());                            // h_t = tanh(a_t)
    }
    const Eigen::Index n = Eigen::Index(T_len) * B;
    auto& P = ws.P;
    P = params.c().replicate(1, n);
    P.noalias() += params.V() * ws.Hs.rightCols(n);                   // o_t = V h_t + c
    // Softmax of every column at once. Max-shifted so exp never overflows; the loss is taken as
    // log-sum-exp minus the target logit, so a tiny p[y] cannot become log(0). One exp over the
    // whole (K, T B) block keeps the SIMD loop whole (per column, K % width entries went
    // through scalar libm exp).
    ws.col_max = P.colwise().maxCoeff();
    double loss = 0.0;
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j) {
            const Eigen::Index col = Eigen::Index(t) * B + j;
            loss -= double(P(targets[j * T_len + t], col) - ws.col_max[col]);  // o_y - max
            P.col(col).array() -= ws.col_max[col];
        }
    P.array() = P.array().exp();
    ws.col_sum = P.colwise().sum();
    for (Eigen::Index col = 0; col < n; ++col) {
        P.col(col) *= T(1) / ws.col_sum[col];                         // p_t = softmax(o_t)
        loss += double(std::log(ws.col_sum[col]));                    // -log p_t[y_t]
    }
    return loss / B;
}

template <typename T>
void backward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
              Workspace<T>& ws, Params<T>& grads) {
    const int T_len = ws.T_len, B = ws.B;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    const T scale = T(1) / T(B);  // the loss is a mean over the batch
    // d_o = (p_t - onehot(y_t)) / B    softmax + cross-entropy; reuses P's storage
    auto& d_o = ws.P;
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j) d_o(targets[j * T_len + t], Eigen::Index(t) * B + j) -= T(1);
    if (B > 1) d_o *= scale;
    const auto H = ws.Hs.rightCols(n);      // h_1 .. h_T
    const auto H_prev = ws.Hs.leftCols(n);  // h_0 .. h_{T-1}
    grads.V().noalias() = d_o * H.transpose();                       // o = V h + c
    grads.c() = d_o.rowwise().sum();
    // dHout holds dh for every step: V^T d_o now, and W^T da_{t+1} is added into column block
    // t just before step t reads it (h_t feeds o_t and a_{t+1}).
    auto& dh = ws.dHout;
    dh.noalias() = params.V().transpose() * d_o;                     // dh = V^T d_o ...
    const auto W = params.W();
    for (int t = T_len - 1; t >= 0; --t) {
        auto da = ws.dA.middleCols(Eigen::Index(t) * B, B);
        const auto h = H.middleCols(Eigen::Index(t) * B, B);
        da = (dh.middleCols(Eigen::Index(t) * B, B).array() *
              (T(1) - h.array().square())).matrix();                 // da = (1 - h_t^2) .* dh
        if (t > 0)                                                    // ... + dh_next, where
            dh.middleCols(Eigen::Index(t - 1) * B, B).noalias() += W.transpose() * da;  // dh_next = W^T da
    }
    grads.W().noalias() = ws.dA * H_prev.transpose();                // a = W h_{t-1} + U x + b
    grads.b() = ws.dA.rowwise().sum();
    auto dU = grads.U();
    dU.setZero();
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            dU.col(inputs[j * T_len + t]) += ws.dA.col(Eigen::Index(t) * B + j);
}

template <typename T>
void step_probs(const Params<T>& params, Vec<T>& h, int x, double temperature, Vec<T>& probs) {
    Vec<T> a = params.W() * h + params.U().col(x) + params.b();
    tanh_inplace(a.data(), a.size());
    h = a;
    probs = params.V() * h + params.c();
    // Shift by the max before dividing: (o - max) / temperature is <= 0 with a 0 at the argmax,
    // so even a temperature of 1e-320 gives exp(0) = 1 there instead of inf/inf = NaN.
    probs = ((probs.array() - probs.maxCoeff()) / T(temperature)).exp().matrix();
    probs /= probs.sum();
}

template <typename T>
int draw_index(const Vec<T>& probs, double u, double top_p) {
    const int K = int(probs.size());
    std::vector<char> keep(K, 1);
    double kept_mass = 1.0;
    if (top_p < 1.0) {
        std::vector<int> order(K);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int i, int j) { return probs[i] > probs[j]; });
        std::fill(keep.begin(), keep.end(), 0);
        kept_mass = 0.0;
        for (int i : order) {
            keep[i] = 1;
            kept_mass += double(probs[i]);
            if (kept_mass >= top_p) break;
        }
    }
    // Inverse CDF in index order, as the assignment draws: the first index whose cumulative
    // (kept, renormalised) probability exceeds u.
    const double target = u * kept_mass;
    double cumulative = 0.0;
    int last_kept = 0;
    for (int i = 0; i < K; ++i) {
        if (!keep[i]) continue;
        cumulative += double(probs[i]);
        last_kept = i;
        if (cumulative > target) return i;
    }
    return last_kept;  // u * mass rounded above the cumulative sum: take the last kept index
}

#define CHARRNN_INSTANTIATE(T)                                                                   \
    template struct Params<T>;                                                                   \
    template struct Workspace<T>;                                                                \
    template double forward<T>(const Params<T>&, const std::int32_t*, const std::int32_t*, int, \
                               int, const Eigen::Ref<const Mat<T>>&, Workspace<T>&);             \
    template void backward<T>(const Params<T>&, const std::int32_t*, const std::int32_t*,        \
                              Workspace<T>&, Params<T>&);                                        \
    template void step_probs<T>(const Params<T>&, Vec<T>&, int, double, Vec<T>&);               \
    template int draw_index<T>(const Vec<T>&, double, double);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
