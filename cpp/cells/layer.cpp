// The input side the lstm and gru layers share, U x_t + b for every step and its adjoint (see
// layer.hpp), in the gated kernel's padded layout.
#include "cells/layer.hpp"

#include "kernels/gemm.hpp"
#include "kernels/recurrent.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {

// Columns per piece of the elementwise and gather loops shared among threads.
constexpr std::int64_t kColumns = 64;

template <typename T>
void input_forward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                   MatR<T>& table, Mat<T>& Z, Parallel* parallel) {
    const auto U = params.U(l);
    const auto b = params.b(l);
    const Eigen::Index m = params.spec().m, mp = kernels::padded<T>(m), G = U.rows() / m;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    if (Z.rows() != G * mp || Z.cols() != n) Z.setZero(G * mp, n);
    if (in.dense()) {
        const auto X = in.matrix(n);
        if (mp == m) {
            kernels::product_columns(parallel, Z, U, X);  // U x_t, every step
        } else {
            for (Eigen::Index g = 0; g < G; ++g)
                kernels::product_columns(parallel, Z.middleRows(g * mp, m), U.middleRows(g * m, m),
                                         X);
        }
        for_chunks(parallel, n, kColumns, [&](std::int64_t j0, std::int64_t j1) {
            for (Eigen::Index g = 0; g < G; ++g) {
                auto z = Z.block(g * mp, j0, mp, j1 - j0);
                z.topRows(m).colwise() += b.segment(g * m, m);  // + b
                // The cell leaves its gates in Z; the padding rows must start from zero again.
                z.bottomRows(mp - m).setZero();
            }
        });
        return;
    }
    const Eigen::Index K = U.cols();
    // Padding columns are zeroed here only: backward's dU^T in this storage keeps them zero.
    if (table.rows() != K || table.cols() != G * mp) table.setZero(K, G * mp);
    for (Eigen::Index g = 0; g < G; ++g) {
        kernels::transpose_into(U.data() + g * m * K, m, K, K, table.data() + g * mp, G * mp);
        table.middleCols(g * mp, m).rowwise() += b.segment(g * m, m).transpose();
    }
    for_chunks(parallel, n, kColumns, [&](std::int64_t c0, std::int64_t c1) {
        for (Eigen::Index col = c0; col < c1; ++col)  // column t B + j
            Z.col(col) = table.row(in.x[col % B * T_len + col / B]).transpose();
    });
}

template <typename T>
void input_backward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                    const Mat<T>& dZ, MatR<T>& table, Params<T>& grads, Cols<T>* dX,
                    Parallel* parallel) {
    const auto U = params.U(l);
    const Eigen::Index m = params.spec().m, mp = kernels::padded<T>(m), G = U.rows() / m;
    auto db = grads.b(l);
    auto dU = grads.U(l);
    const Eigen::Index n = Eigen::Index(T_len) * B;
    // z = ... + b: db sums dZ's columns in their order, its rows in pieces.
    for_chunks(parallel, m, kColumns, [&](std::int64_t r0, std::int64_t r1) {
        for (Eigen::Index g = 0; g < G; ++g)
            kernels::sum_columns(dZ.block(g * mp + r0, 0, r1 - r0, n),
                                 db.segment(g * m + r0, r1 - r0));
    });
    if (in.dense()) {
        if (mp == m && in.rows % kernels::kLanes<T> == 0) {
            kernels::gradient_product(dZ.data(), G * m, G * mp, in.X, in.rows, in.ld, n, dU.data(),
                                      parallel);                         // z = ... + U x_t
            kernels::product_columns(parallel, *dX, U.transpose(), dZ);  // x_t: h_t below
            return;
        }
        for (Eigen::Index g = 0; g < G; ++g) {
            const auto dz = dZ.middleRows(g * mp, m);
            dU.middleRows(g * m, m).noalias() = dz * in.matrix(n).transpose();
            kernels::product_columns(parallel, *dX, U.middleRows(g * m, m).transpose(), dz, g > 0);
        }
        return;
    }
    // Characters: column x_t of dU gets column t B + j of dZ, added in (t, j) order; the rows
    // of dU^T (in `table`) are shared among threads in pieces of columns.
    const Eigen::Index K = U.cols();
    table.setZero(K, G * mp);
    for_chunks(parallel, G * mp, 4 * kColumns, [&](std::int64_t r0, std::int64_t r1) {
        for (int t = 0; t < T_len; ++t)
            for (int j = 0; j < B; ++j)
                table.row(in.x[j * T_len + t]).segment(r0, r1 - r0) +=
                    dZ.col(Eigen::Index(t) * B + j).segment(r0, r1 - r0).transpose();
    });
    for (Eigen::Index g = 0; g < G; ++g)
        kernels::transpose_into(table.data() + g * mp, K, m, G * mp, dU.data() + g * m * K, K);
}

#define CHARRNN_INSTANTIATE(T)                                                             \
    template void input_forward<T>(const Params<T>&, int, const LayerInput<T>&, int, int,  \
                                   MatR<T>&, Mat<T>&, Parallel*);                          \
    template void input_backward<T>(const Params<T>&, int, const LayerInput<T>&, int, int, \
                                    const Mat<T>&, MatR<T>&, Params<T>&, Cols<T>*, Parallel*);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
