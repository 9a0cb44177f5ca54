// The products the cells share: the register-blocked sequential kernel of the vanilla RNN
// (one time step of W h + start, or W^T da + start with tanh', for a batch of columns), the packed
// panel layout it reads, a tiled transpose and column sums. No model equations here (cells/).
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "core/layout.hpp"

namespace charrnn {
namespace kernels {

// Inline everything a function calls: GCC otherwise called the start and finish lambdas out of
// line from the kernel, passing packets through memory.
#if defined(__GNUC__)
#define CHARRNN_FLATTEN __attribute__((flatten))
#else
#define CHARRNN_FLATTEN
#endif

template <typename T>
using Packet = typename Eigen::internal::packet_traits<T>::type;
template <typename T>
constexpr int kLanes = Eigen::internal::packet_traits<T>::size;
// W up to this size (bytes) goes through the register-blocked kernel, above it through Eigen's
// product (see SequentialStep::stream). Measured crossover: in float64 the blocks win at m=100
// (80 KB), tie at m=128 and lose from m=160 (the per-step copies of W grow with it); in float32
// they win up to m=181 and tie at m=256.
constexpr Eigen::Index kBlockedUpTo = Eigen::Index(192) << 10;
#ifdef EIGEN_VECTORIZE_AVX512
constexpr int kRegisters = 32;
#else
constexpr int kRegisters = 16;
#endif

// dst(j, i) = src(i, j): src is (rows, cols) row-major with rows src_ld apart, dst row-major with
// rows dst_ld apart. Whole L x L tiles are transposed in registers; a coefficient-wise transpose
// read src a whole row apart per element, a visible part of a training step.
template <typename T>
inline void transpose_into(const T* src, Eigen::Index rows, Eigen::Index cols, Eigen::Index src_ld,
                           T* dst, Eigen::Index dst_ld) {
    using namespace Eigen::internal;
    constexpr int L = kLanes<T>;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"  // a packet type as a template argument
    using Tile = PacketBlock<Packet<T>, L>;
#pragma GCC diagnostic pop
    Eigen::Index i0 = 0;
    if constexpr (L > 1) {
        for (; i0 + L <= rows; i0 += L) {
            Eigen::Index j0 = 0;
            for (; j0 + L <= cols; j0 += L) {
                Tile tile;
                for (int r = 0; r < L; ++r)
                    tile.packet[r] = ploadu<Packet<T>>(src + (i0 + r) * src_ld + j0);
                ptranspose(tile);
                for (int r = 0; r < L; ++r) pstoreu(dst + (j0 + r) * dst_ld + i0, tile.packet[r]);
            }
            for (; j0 < cols; ++j0)
                for (int r = 0; r < L; ++r) dst[j0 * dst_ld + i0 + r] = src[(i0 + r) * src_ld + j0];
        }
    }
    for (; i0 < rows; ++i0)
        for (Eigen::Index j = 0; j < cols; ++j) dst[j * dst_ld + i0] = src[i0 * src_ld + j];
}

// Register blocking of the sequential kernel below: a block of NP vectors x NC columns of
// accumulators, NP row vectors and a broadcast must fit in the registers. At batch 1 a block
// takes a wide slice of every row (few passes over the matrix); batches take 4 columns at once.
constexpr int kPanelSingle = kRegisters >= 32 ? 16 : 8;
constexpr int kPanelBatch = kRegisters >= 32 ? 4 : 2;

// Vectors per panel of the packed matrices for a batch of B sequences (see pack_panels).
constexpr int panel_vectors(int B) {
    return B == 1 ? kPanelSingle : kPanelBatch;
}

// The packed layout the sequential kernel reads: A (rows, mp), zero-padded to mp columns, is cut
// into panels of `panel` vectors (the last one narrower), stored one after another, each panel
// row-major with its own width. A pass of the kernel over one panel then reads one contiguous
// block (a strided slice of every row of the plain layout was slower from L2).
// Fills A = src^T if transpose, else A = src; src is (m, m) row-major; the padding columns of
// dst must already be zero.
template <typename T>
inline void pack_panels(const T* src, Eigen::Index m, Eigen::Index mp, int panel, bool transpose,
                        T* dst) {
    constexpr int L = kLanes<T>;
    for (Eigen::Index i0 = 0; i0 < m; i0 += Eigen::Index(panel) * L) {
        const Eigen::Index width = std::min(Eigen::Index(panel) * L, mp - i0);  // in values
        const Eigen::Index cols = std::min(width, m - i0);                      // real columns
        T* base = dst + i0 * m;
        if (transpose)  // panel row r holds W(i0 .. i0+cols, r)
            transpose_into(src + i0 * m, cols, m, m, base, width);
        else
            for (Eigen::Index r = 0; r < m; ++r)
                std::copy(src + r * m + i0, src + r * m + i0 + cols, base + r * width);
    }
}

// The sequential part of one time step, for the B sequences of a batch at once:
//   out_c = finish(start_c + M x_c)                            for columns c = 0 .. B-1
// Forward: M = W, x = h_{t-1}, start = U x_t + b, no finish, so out = a_t (tanh comes after).
// Backward: M = W^T, x = da_{t+1}, start = V^T d_o, finish = (1 - h_t^2) .*, so out = da_t.
// x, start and out are columns mp long (zero-padded to whole SIMD vectors); the padding stays
// zero through both.
template <typename T, typename Start, typename Finish>
struct SequentialStep {
    // M x = sum_r x[r] A_r with A_r row r of A = M^T (W^T forward, W backward), packed in panels
    // of panel_vectors(B) (see pack_panels). Null when W is too big for L2: then `stream` uses
    // W itself.
    const T* A;
    Eigen::Map<const MatR<T>> W;
    bool transposed;        // M = W^T
    Eigen::Index rows, mp;  // rows of A to add up: m, or 0 when there is nothing to add
    bool reverse;           // walk the panels last to first (see run)
    const T* x;             // column c at x + c mp
    Start start;            // start(c): pointer to start_c
    Finish finish;          // finish(v, c, i): the activation of vector v = rows i .. of column c
    T* out;                 // column c at out + c mp

    // A block of NP vectors x NC columns stays in registers for a whole pass over its panel's
    // rows: A is read once per NC columns, and nothing is stored until the activation has been
    // applied. At batch 1 this is a matrix-vector product, bounded by reading W (80 KB) from L2.
    template <int NP, int NC>
    CHARRNN_FLATTEN void block(Eigen::Index p0, Eigen::Index c0) const {
        using namespace Eigen::internal;
        using P = Packet<T>;
        constexpr int L = kLanes<T>;
        P acc[NC][NP];
        for (int c = 0; c < NC; ++c)
            for (int p = 0; p < NP; ++p) acc[c][p] = ploadu<P>(start(c0 + c) + (p0 + p) * L);
        const T* a = A + p0 * L * W.rows();  // this panel: W.rows() rows of NP vectors
        for (Eigen::Index r = 0; r < rows; ++r, a += NP * L) {
            P row[NP];
            for (int p = 0; p < NP; ++p) row[p] = ploadu<P>(a + p * L);
            for (int c = 0; c < NC; ++c) {
                const P xc = pset1<P>(x[(c0 + c) * mp + r]);
                for (int p = 0; p < NP; ++p) acc[c][p] = pmadd(xc, row[p], acc[c][p]);
            }
        }
        for (int c = 0; c < NC; ++c)
            for (int p = 0; p < NP; ++p)
                pstoreu(out + (c0 + c) * mp + (p0 + p) * L,
                        finish(acc[c][p], c0 + c, (p0 + p) * L));
    }

    // Columns c0 .. c0+NC-1 over all of mp, one panel of NP_MAX vectors at a time (the last
    // panel narrower), in panel order or reversed.
    template <int NC, int NP_MAX>
    void columns(Eigen::Index c0) const {
        const Eigen::Index vectors = mp / kLanes<T>, full = vectors / NP_MAX;
        const Eigen::Index rest = vectors - full * NP_MAX;
        if (reverse) remainder<NC, NP_MAX - 1>(rest, full * NP_MAX, c0);
        for (Eigen::Index k = 0; k < full; ++k)
            block<NP_MAX, NC>((reverse ? full - 1 - k : k) * NP_MAX, c0);
        if (!reverse) remainder<NC, NP_MAX - 1>(rest, full * NP_MAX, c0);
    }

    // block<np, NC> for a run-time np < NP_MAX (0 does nothing).
    template <int NC, int NP>
    void remainder(Eigen::Index np, Eigen::Index p0, Eigen::Index c0) const {
        if constexpr (NP > 0) {
            if (np == NP) return block<NP, NC>(p0, c0);
            remainder<NC, NP - 1>(np, p0, c0);
        }
    }

    // A larger W (see kBlockedUpTo): walking a narrow slice of every row at a time (a page apart
    // at m = 512) defeats the prefetchers, and the padded copies cost a pass over W each.
    // Eigen's matrix-vector product streams W's rows as they are.
    void stream(int B) const {
        using namespace Eigen::internal;
        using P = Packet<T>;
        constexpr int L = kLanes<T>;
        using Cols = Eigen::Map<Mat<T>, 0, Eigen::OuterStride<>>;
        using ConstCols = Eigen::Map<const Mat<T>, 0, Eigen::OuterStride<>>;
        for (int c = 0; c < B; ++c) std::copy(start(c), start(c) + mp, out + c * mp);
        if (rows > 0) {
            Cols o(out, W.rows(), B, Eigen::OuterStride<>(mp));
            const ConstCols xs(x, W.rows(), B, Eigen::OuterStride<>(mp));
            if (transposed)
                o.noalias() += W.transpose() * xs;
            else
                o.noalias() += W * xs;
        }
        for (int c = 0; c < B; ++c)
            for (Eigen::Index i = 0; i < mp; i += L)
                pstoreu(out + c * mp + i, finish(ploadu<P>(out + c * mp + i), c, i));
    }

    // Callers alternate `reverse` from one time step to the next: the panels read last are then
    // read first again while still in L1 (32 KB holds 40% of an 80 KB W), sparing reads from
    // L2. The order of the panels changes no sum, so results do not depend on it.
    void run(int B) const {
        if (!A) return stream(B);
        if (B == 1) return columns<1, kPanelSingle>(0);
        int c0 = 0;
        for (; c0 + 4 <= B; c0 += 4) columns<4, kPanelBatch>(c0);
        switch (B - c0) {
            case 1:
                return columns<1, kPanelBatch>(c0);
            case 2:
                return columns<2, kPanelBatch>(c0);
            case 3:
                return columns<3, kPanelBatch>(c0);
            default:
                return;
        }
    }
};

// out = sum of the columns of a (column-major): whole columns added as vectors. Eigen's
// rowwise().sum() walks each row across the columns, one scalar at a time.
template <typename Matrix, typename Vector>
inline void sum_columns(const Matrix& a, Vector&& out) {
    out.setZero();
    for (Eigen::Index col = 0; col < a.cols(); ++col) out += a.col(col);
}

template <typename T, typename Start, typename Finish>
inline void sequential_step(const T* A, Eigen::Map<const MatR<T>> W, bool transposed,
                            Eigen::Index rows, Eigen::Index mp, bool reverse, const T* x,
                            Start start, Finish finish, T* out, int B) {
    SequentialStep<T, Start, Finish>{A, W, transposed, rows, mp, reverse, x, start, finish, out}
        .run(B);
}

}  // namespace kernels
}  // namespace charrnn
