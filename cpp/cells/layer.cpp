// The input side the lstm and gru layers share, U x_t + b for every step and its adjoint (see
// layer.hpp).
#include "cells/layer.hpp"

#include "kernels/sequential.hpp"

namespace charrnn {

template <typename T>
void input_forward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                   MatR<T>& table, Mat<T>& Z) {
    const auto U = params.U(l);
    const Eigen::Index n = Eigen::Index(T_len) * B;
    Z.resize(U.rows(), n);
    if (in.dense()) {
        Z.noalias() = U * in.matrix(n);                             // U x_t, every step
        Z.colwise() += params.b(l);
        return;
    }
    table.resize(U.cols(), U.rows());
    kernels::transpose_into(U.data(), U.rows(), U.cols(), U.cols(), table.data(), U.rows());
    table.rowwise() += params.b(l).transpose();
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            Z.col(Eigen::Index(t) * B + j) = table.row(in.x[j * T_len + t]).transpose();
}

template <typename T>
void input_backward(const Params<T>& params, int l, const LayerInput<T>& in, int T_len, int B,
                    const Mat<T>& dZ, MatR<T>& table, Params<T>& grads, Cols<T>* dX) {
    kernels::sum_columns(dZ, grads.b(l));                          // z = ... + b
    auto dU = grads.U(l);
    if (in.dense()) {
        const Eigen::Index n = Eigen::Index(T_len) * B;
        dU.noalias() = dZ * in.matrix(n).transpose();               // z = ... + U x_t
        dX->noalias() = params.U(l).transpose() * dZ;               // x_t is h_t of the layer below
        return;
    }
    table.setZero(dU.cols(), dU.rows());
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            table.row(in.x[j * T_len + t]) += dZ.col(Eigen::Index(t) * B + j).transpose();
    kernels::transpose_into(table.data(), table.rows(), table.cols(), table.cols(), dU.data(),
                            dU.cols());
}

#define CHARRNN_INSTANTIATE(T)                                                                \
    template void input_forward<T>(const Params<T>&, int, const LayerInput<T>&, int, int,     \
                                   MatR<T>&, Mat<T>&);                                        \
    template void input_backward<T>(const Params<T>&, int, const LayerInput<T>&, int, int,    \
                                    const Mat<T>&, MatR<T>&, Params<T>&, Cols<T>*);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
