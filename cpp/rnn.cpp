// Forward pass, backpropagation through time and the sampling step of the vanilla RNN.
// Everything that does not depend on the previous time step (V H, dV, dW, V^T dO) is one matrix
// product over the whole sequence; only W h_{t-1} forward and W^T da backward are sequential.
#include "rnn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace charrnn {

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
    dh_next.resize(m, B);
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
        h.noalias() = W * h_prev;                                     // a_t = W h_{t-1}
        for (int j = 0; j < B; ++j) h.col(j) += U.col(inputs[j * T_len + t]) + b;  //  + U x_t + b
        h = h.array().tanh().matrix();                                // h_t = tanh(a_t)
    }
    const Eigen::Index n = Eigen::Index(T_len) * B;
    ws.P.noalias() = params.V() * ws.Hs.rightCols(n);                 // o_t = V h_t
    ws.P.colwise() += params.c();                                     //     + c
    double loss = 0.0;
    for (int t = 0; t < T_len; ++t) {
        for (int j = 0; j < B; ++j) {
            auto p = ws.P.col(Eigen::Index(t) * B + j);
            // Max-shifted softmax: exp never overflows, and the loss is taken as
            // log-sum-exp minus the target logit so a tiny p[y] cannot become log(0).
            const T o_max = p.maxCoeff();
            const T o_y = p[targets[j * T_len + t]] - o_max;
            p = (p.array() - o_max).exp().matrix();
            const T sum = p.sum();
            p /= sum;                                                 // p_t = softmax(o_t)
            loss += double(std::log(sum) - o_y);                      // -log p_t[y_t]
        }
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
    ws.dHout.noalias() = params.V().transpose() * d_o;               // h_t feeds o_t ...
    const auto W = params.W();
    ws.dh_next.setZero();
    for (int t = T_len - 1; t >= 0; --t) {
        auto da = ws.dA.middleCols(Eigen::Index(t) * B, B);
        const auto h = H.middleCols(Eigen::Index(t) * B, B);
        // dh = V^T d_o + dh_next   (... and a_{t+1});  da = (1 - h_t^2) .* dh   tanh'
        da = ((ws.dHout.middleCols(Eigen::Index(t) * B, B) + ws.dh_next).array() *
              (T(1) - h.array().square())).matrix();
        ws.dh_next.noalias() = W.transpose() * da;                  // dh_next = W^T da
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
    h = a.array().tanh().matrix();
    probs = (params.V() * h + params.c()) / T(temperature);
    probs = (probs.array() - probs.maxCoeff()).exp().matrix();
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
