// The softmax head's kernel: logits to probabilities and the cross-entropy of the targets, in
// place, for a (K, T B) block of columns. No parameters here: the logits come from the output
// layer (model/model.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "core/layout.hpp"

namespace charrnn {
namespace kernels {

// P: column t B + j holds o_t of sequence j on entry and p_t = softmax(o_t) on return. Returns
// sum over the columns of -log p_t[y_t], y_t = targets[j T_len + t]; a target of -1 predicts
// nothing (a document's padding) and adds no loss. *predicted: the columns with a target.
// A group of columns at a time: all its passes (max, shift, exp, sum, scale) run while the group
// is in L1; at batch 32 the whole (K, T B) block is ~0.5 MB, and five passes over it came from
// L3. Max-shifted so exp never overflows; the loss is taken as log-sum-exp minus the target
// logit, so a tiny p[y] cannot become log(0). One exp over each group's contiguous block keeps
// the SIMD loop whole (per column, K % width entries went through scalar libm exp).
template <typename T>
double softmax_cross_entropy(Mat<T>& P, const std::int32_t* targets, int T_len, int B,
                             Eigen::Index* predicted) {
    const Eigen::Index n = P.cols();
    Eigen::Index counted = 0;
    constexpr Eigen::Index kGroup = 8;
    Eigen::Matrix<T, 1, kGroup> col_max, col_sum;
    double loss = 0.0;
    for (Eigen::Index g0 = 0; g0 < n; g0 += kGroup) {
        const Eigen::Index len = std::min(kGroup, n - g0);
        auto group = P.middleCols(g0, len);
        col_max.head(len) = group.colwise().maxCoeff();
        for (Eigen::Index i = 0; i < len; ++i) {
            const Eigen::Index col = g0 + i, t = col / B, j = col % B;
            const std::int32_t y = targets[j * T_len + t];
            if (y >= 0) loss -= double(P(y, col) - col_max[i]);  // o_y - max
            group.col(i).array() -= col_max[i];
        }
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> block(group.data(), group.size());
        block = block.exp();
        col_sum.head(len) = group.colwise().sum();
        for (Eigen::Index i = 0; i < len; ++i) {
            const Eigen::Index col = g0 + i;
            group.col(i) *= T(1) / col_sum[i];  // p_t = softmax(o_t)
            if (targets[(col % B) * T_len + col / B] < 0) continue;
            loss += double(std::log(col_sum[i]));  // -log p_t[y_t]
            ++counted;
        }
    }
    *predicted = counted;
    return loss;
}

}  // namespace kernels
}  // namespace charrnn
