// The input side the lstm and gru layers share, U x_t + b for every step and its adjoint (see
// layer.hpp), in the gated kernel's padded layout.
#include "cells/layer.hpp"

#include "kernels/gemm.hpp"
#include "kernels/recurrent.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {

template <typename T>
void input_forward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                   MatR<T>& table, Mat<T>& Z) {
    const auto U = params.U(l);
    const auto b = params.b(l);
    const Eigen::Index m = params.spec().m, mp = kernels::padded<T>(m), G = U.rows() / m;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    if (Z.rows() != G * mp || Z.cols() != n) Z.setZero(G * mp, n);
    if (in.dense()) {
        if (mp == m) {
            Z.noalias() = U * in.matrix(n);                         // U x_t, every step
            Z.colwise() += b;
            return;
        }
        for (Eigen::Index g = 0; g < G; ++g) {
            auto z = Z.middleRows(g * mp, m);
            z.noalias() = U.middleRows(g * m, m) * in.matrix(n);
            z.colwise() += b.segment(g * m, m);
            // The cell leaves its gates in Z; the padding rows must start from zero again.
            Z.middleRows(g * mp + m, mp - m).setZero();
        }
        return;
    }
    const Eigen::Index K = U.cols();
    // Padding columns are zeroed here only: backward's dU^T in this storage keeps them zero.
    if (table.rows() != K || table.cols() != G * mp) table.setZero(K, G * mp);
    for (Eigen::Index g = 0; g < G; ++g) {
        kernels::transpose_into(U.data() + g * m * K, m, K, K, table.data() + g * mp, G * mp);
        table.middleCols(g * mp, m).rowwise() += b.segment(g * m, m).transpose();
    }
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            Z.col(Eigen::Index(t) * B + j) = table.row(in.x[j * T_len + t]).transpose();
}

template <typename T>
void input_backward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                    const Mat<T>& dZ, MatR<T>& table, Params<T>& grads, Cols<T>* dX) {
    const auto U = params.U(l);
    const Eigen::Index m = params.spec().m, mp = kernels::padded<T>(m), G = U.rows() / m;
    auto db = grads.b(l);
    auto dU = grads.U(l);
    for (Eigen::Index g = 0; g < G; ++g)                            // z = ... + b
        kernels::sum_columns(dZ.middleRows(g * mp, m), db.segment(g * m, m));
    if (in.dense()) {
        const Eigen::Index n = Eigen::Index(T_len) * B;
        if (mp == m && in.rows % kernels::kLanes<T> == 0) {
            kernels::gradient_product(dZ.data(), G * m, G * mp, in.X, in.rows, in.ld, n,
                                      dU.data());                   // z = ... + U x_t
            dX->noalias() = U.transpose() * dZ;                     // x_t is h_t of the layer below
            return;
        }
        for (Eigen::Index g = 0; g < G; ++g) {
            const auto dz = dZ.middleRows(g * mp, m);
            dU.middleRows(g * m, m).noalias() = dz * in.matrix(n).transpose();
            if (g == 0)
                dX->noalias() = U.middleRows(0, m).transpose() * dz;
            else
                dX->noalias() += U.middleRows(g * m, m).transpose() * dz;
        }
        return;
    }
    const Eigen::Index K = U.cols();
    table.setZero(K, G * mp);
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            table.row(in.x[j * T_len + t]) += dZ.col(Eigen::Index(t) * B + j).transpose();
    for (Eigen::Index g = 0; g < G; ++g)
        kernels::transpose_into(table.data() + g * mp, K, m, G * mp, dU.data() + g * m * K, K);
}

#define CHARRNN_INSTANTIATE(T)                                                                \
    template void input_forward<T>(const Params<T>&, int, const LayerInput<T>&, int, int,     \
                                   MatR<T>&, Mat<T>&);                                        \
    template void input_backward<T>(const Params<T>&, int, const LayerInput<T>&, int, int,    \
                                    const Mat<T>&, MatR<T>&, Params<T>&, Cols<T>*);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
