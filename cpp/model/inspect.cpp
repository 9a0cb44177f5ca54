// The forward-only inspection pass (see inspect.hpp).
#include "model/inspect.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/softmax.hpp"

namespace charrnn {

template <typename T>
void inspect_forward(const Params<T>& params, const std::int32_t* inputs,
                     const std::int32_t* targets, int T_len, int top_k, State<T>& state,
                     Workspace<T>& ws, const TraceOut<T>& out) {
    const ModelSpec& spec = params.spec();
    const int L = spec.layers, K = spec.K;
    const Eigen::Index m = spec.m, n = T_len;
    forward_logits(params, inputs, T_len, 1, state, ws);  // o_t in ws.P
    // The loss per step from the logits, log-sum-exp in double: a p[y] that rounds to 0 in
    // float32 still has a finite loss.
    if (out.loss)
        for (Eigen::Index t = 0; t < n; ++t) {
            const auto o = ws.P.col(t);
            const double top = double(o.maxCoeff());
            double sum = 0;
            for (int k = 0; k < K; ++k) sum += std::exp(double(o[k]) - top);
            out.loss[t] = std::log(sum) - (double(o[targets[t]]) - top);  // -log p_t[y_t]
        }
    // p_t = softmax(o_t): the same kernel as forward(), so the same bits.
    Eigen::Index predicted = 0;
    kernels::softmax_cross_entropy(ws.P, targets, T_len, 1, &predicted);
    std::vector<int> order(K);
    for (Eigen::Index t = 0; t < n; ++t) {
        const auto p = ws.P.col(t);
        if (out.entropy) {
            double H = 0;
            for (int k = 0; k < K; ++k)
                if (p[k] > 0) H -= double(p[k]) * std::log(double(p[k]));
            out.entropy[t] = H;
        }
        if (out.rank) {
            const T py = p[targets[t]];
            std::int32_t r = 0;
            for (int k = 0; k < K; ++k) r += p[k] > py;
            out.rank[t] = r;
        }
        if (out.top_index) {
            std::iota(order.begin(), order.end(), 0);
            // Ties go to the smaller index, so the order does not depend on the sort.
            std::partial_sort(order.begin(), order.begin() + top_k, order.end(),
                              [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
            for (int i = 0; i < top_k; ++i) {
                out.top_index[t * top_k + i] = order[i];
                out.top_p[t * top_k + i] = p[order[i]];
            }
        }
    }
    // Activations to row-major (L, T, m) and (L, G, T, m): one step's units contiguous.
    for (int l = 0; l < L; ++l) {
        const Layer<T>& layer = *ws.layers[l];
        const auto h = layer.hidden().rightCols(n);  // skip h_0
        for (Eigen::Index t = 0; t < n; ++t)
            std::copy_n(h.col(t).data(), m, out.hs + (l * n + t) * m);
        if (out.cs && spec.cell == Cell::lstm) {
            const auto c = layer.cell_state().rightCols(n);
            for (Eigen::Index t = 0; t < n; ++t)
                std::copy_n(c.col(t).data(), m, out.cs + (l * n + t) * m);
        }
        if (out.gates) {
            const int G = layer.gate_count();
            for (int g = 0; g < G; ++g) {
                const auto a = layer.gate(g);
                T* dst = out.gates + (Eigen::Index(l) * G + g) * n * m;
                for (Eigen::Index t = 0; t < n; ++t) std::copy_n(a.col(t).data(), m, dst + t * m);
            }
        }
    }
    ws.final_state(state);
}

#define CHARRNN_INSTANTIATE(T)                                                                   \
    template void inspect_forward<T>(const Params<T>&, const std::int32_t*, const std::int32_t*, \
                                     int, int, State<T>&, Workspace<T>&, const TraceOut<T>&);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
