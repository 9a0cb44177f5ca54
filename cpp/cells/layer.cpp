// The two input-side helpers the lstm and gru layers share: the character gather table of layer
// 1 and its adjoint, the scatter of dZ into the columns of dU (see layer.hpp).
#include "cells/layer.hpp"

#include "kernels/sequential.hpp"

namespace charrnn {

template <typename T>
void gather_table(const Eigen::Map<const MatR<T>>& U, const Eigen::Map<const Vec<T>>& b,
                  MatR<T>& table) {
    table.resize(U.cols(), U.rows());
    kernels::transpose_into(U.data(), U.rows(), U.cols(), U.cols(), table.data(), U.rows());
    table.rowwise() += b.transpose();
}

template <typename T>
void scatter_columns(const Mat<T>& dZ, const std::int32_t* x, int T_len, int B,
                     MatR<T>& scratch, Eigen::Map<MatR<T>> dU) {
    // Added as rows of dU^T (whole vectors), then one transpose: a column of the row-major dU
    // is a strided scalar loop.
    scratch.setZero(dU.cols(), dU.rows());
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            scratch.row(x[j * T_len + t]) += dZ.col(Eigen::Index(t) * B + j).transpose();
    kernels::transpose_into(scratch.data(), scratch.rows(), scratch.cols(), scratch.cols(),
                            dU.data(), dU.cols());
}

#define CHARRNN_INSTANTIATE(T)                                                                  \
    template void gather_table<T>(const Eigen::Map<const MatR<T>>&,                             \
                                  const Eigen::Map<const Vec<T>>&, MatR<T>&);                    \
    template void scatter_columns<T>(const Mat<T>&, const std::int32_t*, int, int, MatR<T>&,    \
                                     Eigen::Map<MatR<T>>);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
