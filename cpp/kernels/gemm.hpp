// A matrix product for the weight gradients of the gated cells, dW = dZ H^T and dU = dZ X^T over
// the whole sequence: C = A B or C += A B, both operands repacked in blocks as GotoBLAS and BLIS
// do, with a register block of 24 accumulators (Eigen 3.4's 48 x 4 float block has 12, and ran
// this product further from the FMA peak than its other products). No model equations here
// (cells/).
//
// Every element of C is summed in the same order however the blocks are visited (k in blocks
// of kGemmDepth, each block in order), so the split of its columns among threads (gemm below)
// cannot change a result.
#pragma once

#include <algorithm>
#include <vector>

#include <Eigen/Core>

#include "core/parallel.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {
namespace kernels {

// Register block: kGemmVectors vectors of C's rows x kGemmCols columns of accumulators, the
// kGemmVectors row vectors of A and one broadcast of B beside them. Depth block: the packed
// panel of A (kGemmDepth x kGemmVectors vectors) stays in L1 while every column of the B block
// passes it; the B block (kGemmDepth x kGemmWidth) stays in L2. Chosen by paired timings
// against Eigen of dZ H^T at m = 128 and 512 (T B = 2500), float32 and float64: 3 x 8 at depth
// 256 took 0.81-0.96 of Eigen's time; 2 x 12 and 4 x 6, at depth 256 or 512, 0.77-0.98.
#ifdef EIGEN_VECTORIZE_AVX512
constexpr int kGemmVectors = 3, kGemmCols = 8;
#else
constexpr int kGemmVectors = 2, kGemmCols = 5;
#endif
constexpr Eigen::Index kGemmDepth = 256;
// A product is cut into pieces shared among threads from this many multiply-adds: enough work
// to repay a hand-off, and the assignment's model at batch 32 stays one piece (its output layer,
// 6M, was slower in pieces on one thread; docs/performance.md).
constexpr double kParallelGemmFmas = 1 << 23;
template <typename T>
constexpr Eigen::Index kGemmWidth =
    (Eigen::Index(1) << 20) / (kGemmDepth * sizeof(T)) / kGemmCols * kGemmCols;

template <typename T, int NP>
CHARRNN_FLATTEN inline void gemm_block(const T* a, const T* b, Eigen::Index depth, T* c,
                                       Eigen::Index ldc, int cols, bool load) {
    using namespace Eigen::internal;
    using P = Packet<T>;
    constexpr int L = kLanes<T>, NC = kGemmCols;
    P acc[NC][NP];
    for (int j = 0; j < NC; ++j)
        for (int p = 0; p < NP; ++p)
            acc[j][p] = load && j < cols ? ploadu<P>(c + j * ldc + p * L) : pset1<P>(T(0));
#pragma GCC unroll 4
    for (Eigen::Index k = 0; k < depth; ++k, a += NP * L, b += NC) {
        P row[NP];
        for (int p = 0; p < NP; ++p) row[p] = ploadu<P>(a + p * L);
        for (int j = 0; j < NC; ++j) {
            const P x = pset1<P>(b[j]);
            for (int p = 0; p < NP; ++p) acc[j][p] = pmadd(x, row[p], acc[j][p]);
        }
    }
    for (int j = 0; j < NC; ++j)
        if (j < cols)
            for (int p = 0; p < NP; ++p) pstoreu(c + j * ldc + p * L, acc[j][p]);
}

template <typename T, int NP>
inline void gemm_panel(int np, const T* a, const T* b, Eigen::Index depth, T* c, Eigen::Index ldc,
                       int cols, bool load) {
    if constexpr (NP > 0) {
        if (np == NP) return gemm_block<T, NP>(a, b, depth, c, ldc, cols, load);
        gemm_panel<T, NP - 1>(np, a, b, depth, c, ldc, cols, load);
    }
}

// C (M x N, column-major, columns ldc apart) = A B, or += A B when accumulate, for the columns
// [j_begin, j_end) of C. M is a multiple of the SIMD width. Column k of A (M values) is
// contiguous at a + k lda; B(k, j) is b[k bk + j] (row k of B contiguous).
template <typename T>
void gemm_columns(Eigen::Index M, Eigen::Index j_begin, Eigen::Index j_end, Eigen::Index K,
                  const T* a, Eigen::Index lda, const T* b, Eigen::Index bk, T* c, Eigen::Index ldc,
                  bool accumulate) {
    using namespace Eigen::internal;
    using P = Packet<T>;
    constexpr int L = kLanes<T>, NC = kGemmCols, NP = kGemmVectors;
    constexpr Eigen::Index width = kGemmWidth<T>;
    // The packed blocks, kept from call to call (one pair per thread).
    static thread_local std::vector<T> packed_a, packed_b;
    packed_a.resize(std::size_t(kGemmDepth) * NP * L);
    packed_b.resize(std::size_t(kGemmDepth) * width);
    if (K == 0 && !accumulate) {
        for (Eigen::Index j = j_begin; j < j_end; ++j)
            std::fill(c + j * ldc, c + j * ldc + M, T(0));
        return;
    }
    for (Eigen::Index j0 = j_begin; j0 < j_end; j0 += width) {
        const Eigen::Index nb = std::min(width, j_end - j0);
        for (Eigen::Index k0 = 0; k0 < K; k0 += kGemmDepth) {
            const Eigen::Index depth = std::min(kGemmDepth, K - k0);
            // B block: slivers of NC columns, each depth x NC, k-major; the last sliver's
            // missing columns zero. A whole sliver's row is NC contiguous values, copied as a
            // fixed-length block: the element-by-element copy of run-time length was slower
            // (docs/performance.md, the LSTM's levers).
            T* bp = packed_b.data();
            for (Eigen::Index js = 0; js < nb; js += NC) {
                const int cols = int(std::min<Eigen::Index>(NC, nb - js));
                const T* src = b + k0 * bk + j0 + js;
                if (cols == NC) {
                    for (Eigen::Index k = 0; k < depth; ++k, bp += NC)
                        std::copy_n(src + k * bk, NC, bp);
                    continue;
                }
                for (Eigen::Index k = 0; k < depth; ++k, bp += NC) {
                    for (int j = 0; j < cols; ++j) bp[j] = src[k * bk + j];
                    for (int j = cols; j < NC; ++j) bp[j] = T(0);
                }
            }
            const bool load = accumulate || k0 > 0;
            for (Eigen::Index i0 = 0; i0 < M; i0 += NP * L) {
                const int np = int(std::min<Eigen::Index>(NP, (M - i0) / L));
                // A panel: depth x np vectors, contiguous (A's columns may be pages apart).
                T* ap = packed_a.data();
                for (Eigen::Index k = 0; k < depth; ++k)
                    for (int p = 0; p < np; ++p, ap += L)
                        pstoreu(ap, ploadu<P>(a + (k0 + k) * lda + i0 + p * L));
                bp = packed_b.data();
                for (Eigen::Index js = 0; js < nb; js += NC, bp += depth * NC)
                    gemm_panel<T, NP>(np, packed_a.data(), bp, depth, c + (j0 + js) * ldc + i0, ldc,
                                      int(std::min<Eigen::Index>(NC, nb - js)), load);
            }
        }
    }
}

// C = A B (or += A B) as gemm_columns, the columns of C shared among parallel's threads when the
// product is large enough. A column's sums do not depend on which task computes it.
template <typename T>
void gemm(Eigen::Index M, Eigen::Index N, Eigen::Index K, const T* a, Eigen::Index lda, const T* b,
          Eigen::Index bk, T* c, Eigen::Index ldc, bool accumulate, Parallel* parallel) {
    constexpr Eigen::Index NC = kGemmCols;
    const int threads =
        double(M) * double(N) * double(K) >= kParallelGemmFmas ? threads_of(parallel) : 1;
    const Eigen::Index slivers = (N + NC - 1) / NC;
    const Eigen::Index tasks = std::min<Eigen::Index>(slivers, 4 * threads);
    const Eigen::Index per = (slivers + tasks - 1) / tasks * NC;  // columns per task
    for_chunks(threads > 1 ? parallel : nullptr, N, per, [&](std::int64_t j0, std::int64_t j1) {
        gemm_columns(M, j0, j1, K, a, lda, b, bk, c, ldc, accumulate);
    });
}

// dst = lhs rhs (or dst += lhs rhs when add) by Eigen's product, in pieces of kProductColumns
// columns of rhs and dst shared among parallel's threads when the product is large enough. The
// pieces depend on the sizes alone; Eigen sums each element over the whole depth in an order
// that its column's neighbours do not change (pieces of 16 to 256 columns gave the same bits as
// one product, float32 and float64, these models' shapes), so they change nothing but speed.
constexpr Eigen::Index kProductColumns = 256;
template <typename Dst, typename Lhs, typename Rhs>
void product_columns(Parallel* parallel, Dst&& dst, const Lhs& lhs, const Rhs& rhs,
                     bool add = false) {
    const Eigen::Index n = rhs.cols();
    const bool split = double(lhs.rows()) * double(lhs.cols()) * double(n) >= kParallelGemmFmas;
    for_chunks(split ? parallel : nullptr, n, split ? kProductColumns : n,
               [&](std::int64_t j0, std::int64_t j1) {
                   auto d = dst.middleCols(j0, j1 - j0);
                   if (add)
                       d.noalias() += lhs * rhs.middleCols(j0, j1 - j0);
                   else
                       d.noalias() = lhs * rhs.middleCols(j0, j1 - j0);
               });
}

// G (G m x in, row-major) = dZ X^T: dZ (G m, n) column-major, columns ldz apart; X (in, n)
// column-major, columns ldx apart. Computed as G^T = X dZ^T, which is G's own storage. Needs
// in to be a multiple of the SIMD width; the caller uses Eigen otherwise.
template <typename T>
void gradient_product(const T* dZ, Eigen::Index rows, Eigen::Index ldz, const T* X, Eigen::Index in,
                      Eigen::Index ldx, Eigen::Index n, T* G, Parallel* parallel) {
    gemm<T>(in, rows, n, X, ldx, dZ, ldz, G, in, false, parallel);
}

}  // namespace kernels
}  // namespace charrnn
