// The sequential product of the gated cells (LSTM, GRU), one time step for a batch of columns:
//   forward   z_t = W h_{t-1} + start      W (G m, m), gates interleaved by unit (see below)
//   backward  dh_t = W^T dz_{t+1} + start
// read from copies of W packed once per sequence, each register block handing its finished
// accumulators to the cell's elementwise code (its `finish`) before anything is stored. The cell
// equations live in cells/lstm.cpp and cells/gru.cpp; this file only knows shapes and layouts.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include "core/parallel.hpp"
#include "kernels/sequential.hpp"

namespace charrnn {
namespace kernels {

// Hidden-sized columns of the gated cells are zero-padded to mp rows, a multiple of the SIMD
// width, and gate g of a (G m)-sized column sits at rows g mp .. g mp + m: every unit vector
// (L consecutive units) of every gate is then one aligned-size load, and the padding units,
// whose weights are zero, compute zeros that stay zero (tested in the cells).
template <typename T>
constexpr Eigen::Index padded(Eigen::Index m) {
    return (m + kLanes<T> - 1) / kLanes<T> * kLanes<T>;
}

// Register blocks of the gated kernel. At batch 1 a block covers kGateSingle vectors of every
// row of the packed matrix (a matrix-vector product: a wide slice means fewer passes and more
// independent sums); with more columns, kGateCols columns of one panel of G vectors (forward:
// the G gates of one unit vector) or kBackVectors vectors (backward), so that a broadcast value
// of x feeds several FMAs and a loaded row vector feeds kGateCols. Sized so the accumulators,
// the row vectors and a broadcast fit in the registers.
#ifdef EIGEN_VECTORIZE_AVX512
template <int G>
constexpr int kGateSingle = G * (16 / G);  // 16 for lstm, 15 for gru
template <int NP>
constexpr int kGateCols = NP >= 4   ? 6
                          : NP == 3 ? 8
                                    : 12;
#else
template <int G>
constexpr int kGateSingle = G * (8 / G);  // 8 for lstm, 6 for gru
template <int NP>
constexpr int kGateCols = NP >= 4   ? 2
                          : NP == 3 ? 3
                                    : 5;
#endif
constexpr int kBackVectors = 4;
// A time step shares its panels among threads from this many multiply-adds (below, the
// handing out costs more than it saves).
constexpr double kParallelStepFmas = 1 << 18;

// The forward copy: for the output vector q = G u + g (gate g of unit vector u, units
// u L .. u L + L), row k holds W(g m + u L + lane, k), i.e. W^T with the gates of a unit vector
// side by side, so one block sees all G pre-activations of its units. Cut into panels of
// `panel` vectors (a multiple of G; the last narrower), each stored row-major on its own: panel
// at vector q0 starts at q0 L m. dst: G mp m values whose padding must already be zero.
template <typename T>
inline void pack_gates_forward(const T* W, Eigen::Index m, int G, int panel, T* dst) {
    constexpr int L = kLanes<T>;
    const Eigen::Index mp = padded<T>(m), vectors = G * mp / L;
    for (Eigen::Index q0 = 0; q0 < vectors; q0 += panel) {
        const Eigen::Index width = std::min<Eigen::Index>(panel, vectors - q0) * L;  // values
        T* base = dst + q0 * L * m;
        for (Eigen::Index q = q0; q * L < q0 * L + width; ++q) {
            const Eigen::Index unit = q / G * L, g = q % G;
            const Eigen::Index units = std::min<Eigen::Index>(L, m - unit);  // real ones
            transpose_into(W + (g * m + unit) * m, units, m, m, base + (q - q0) * L, width);
        }
    }
}

// The backward copy: W itself, (G m, m) row-major, zero-padded to mp columns and cut into
// panels of `panel` vectors of units: panel at vector v0 starts at v0 L G m, its row k holds
// W(k, v0 L .. v0 L + width). dst: G m mp values whose padding must already be zero.
template <typename T>
inline void pack_gates_backward(const T* W, Eigen::Index m, int G, int panel, T* dst) {
    constexpr int L = kLanes<T>;
    const Eigen::Index mp = padded<T>(m), rows = G * m;
    for (Eigen::Index i0 = 0; i0 < m; i0 += Eigen::Index(panel) * L) {
        const Eigen::Index width = std::min(Eigen::Index(panel) * L, mp - i0);  // in values
        const Eigen::Index cols = std::min(width, m - i0);                      // real columns
        T* base = dst + i0 * rows;
        // Whole vectors, then the rest one by one: std::copy of a row this short (a few hundred
        // bytes) spent more time in memmove's dispatch than copying.
        const Eigen::Index whole = cols / L * L;
        for (Eigen::Index r = 0; r < rows; ++r) {
            const T* src = W + r * m + i0;
            T* out = base + r * width;
            for (Eigen::Index i = 0; i < whole; i += L)
                Eigen::internal::pstoreu(out + i, Eigen::internal::ploadu<Packet<T>>(src + i));
            for (Eigen::Index i = whole; i < cols; ++i) out[i] = src[i];
        }
    }
}

// One time step: start(acc, np, c, q0) loads the np accumulators of column c for vectors
// q0 .. q0+np; finish(acc, np, c, q0) takes them once every row is added, and stores.
//   A      the packed matrix (above); its rows are `segments` runs of `seg_rows`, and row
//          s seg_rows + r multiplies x[s seg_stride + r] (backward: dz's gates, each padded)
//   x      column c at x + c x_ld
template <typename T, typename Start, typename Finish>
struct GatedStep {
    const T* A;
    Eigen::Index vectors;  // output vectors: G mp / L forward, mp / L backward
    Eigen::Index segments, seg_rows, seg_stride;
    const T* x;
    Eigen::Index x_ld;
    Start start;
    Finish finish;

    Eigen::Index rows() const { return segments * seg_rows; }

    template <int NP, int NC>
    CHARRNN_FLATTEN void block(Eigen::Index q0, Eigen::Index c0) const {
        using namespace Eigen::internal;
        using P = Packet<T>;
        constexpr int L = kLanes<T>;
        P acc[NC][NP];
        for (int c = 0; c < NC; ++c) start(acc[c], NP, c0 + c, q0);
        const T* a = A + q0 * L * rows();  // this panel: rows() rows of NP vectors
        for (Eigen::Index s = 0; s < segments; ++s) {
            const T* xs = x + c0 * x_ld + s * seg_stride;
            // Unrolled: the loop's own counter and branch otherwise take issue slots from
            // the FMAs (docs/performance.md).
#pragma GCC unroll 4
            for (Eigen::Index r = 0; r < seg_rows; ++r, a += NP * L) {
                P row[NP];
                for (int p = 0; p < NP; ++p) row[p] = ploadu<P>(a + p * L);
                for (int c = 0; c < NC; ++c) {
                    const P xc = pset1<P>(xs[c * x_ld + r]);
                    for (int p = 0; p < NP; ++p) acc[c][p] = pmadd(xc, row[p], acc[c][p]);
                }
            }
        }
        for (int c = 0; c < NC; ++c) finish(acc[c], NP, c0 + c, q0);
    }

    // block<np, NC> for a run-time np <= NP (the last, narrower panel).
    template <int NC, int NP, int STEP>
    void narrow(Eigen::Index np, Eigen::Index q0, Eigen::Index c0) const {
        if constexpr (NP > 0) {
            if (np == NP) return block<NP, NC>(q0, c0);
            narrow<NC, NP - STEP, STEP>(np, q0, c0);
        }
    }

    // Every column, NP_MAX vectors (a multiple of STEP) at a time: panel by panel, and within
    // a panel NC columns at a time, so that a panel is read from L2 (or beyond) once per step
    // and reused from L1 for every group of columns. A panel's outputs are its own, each summed
    // in a fixed order, so how the panels are shared among threads changes no result: a step
    // with enough work is cut into a few tasks per thread (the pool balances them).
    template <int NP_MAX, int STEP, int NC>
    void run(int B, Parallel* parallel) const {
        const Eigen::Index panels = (vectors + NP_MAX - 1) / NP_MAX;
        const auto some = [&](std::int64_t p0, std::int64_t p1) {
            for (Eigen::Index q0 = p0 * NP_MAX; q0 < std::min<Eigen::Index>(vectors, p1 * NP_MAX);
                 q0 += NP_MAX) {
                const Eigen::Index np = std::min<Eigen::Index>(NP_MAX, vectors - q0);
                int c0 = 0;
                for (; c0 + NC <= B; c0 += NC) narrow<NC, NP_MAX, STEP>(np, q0, c0);
                tail<NC - 1, NP_MAX, STEP>(B - c0, np, q0, c0);
            }
        };
        const double fmas = double(rows()) * double(vectors) * kLanes<T> * B;
        const int threads = fmas >= kParallelStepFmas ? threads_of(parallel) : 1;
        if (threads == 1) return some(0, panels);
        const Eigen::Index tasks = std::min<Eigen::Index>(panels, 4 * threads);
        for_chunks(parallel, panels, (panels + tasks - 1) / tasks, some);
    }

    template <int NC, int NP_MAX, int STEP>
    void tail(int nc, Eigen::Index np, Eigen::Index q0, Eigen::Index c0) const {
        if constexpr (NC > 0) {
            if (nc == NC) return narrow<NC, NP_MAX, STEP>(np, q0, c0);
            tail<NC - 1, NP_MAX, STEP>(nc, np, q0, c0);
        }
    }
};

// Forward: panels of whole unit vectors (G vectors each), the gates side by side.
template <typename T, int G, typename Start, typename Finish>
inline void gated_forward_step(const T* A, Eigen::Index m, const T* h_prev, Eigen::Index x_ld,
                               Start start, Finish finish, int B, Parallel* parallel) {
    const GatedStep<T, Start, Finish> step{
        A, G * padded<T>(m) / kLanes<T>, 1, m, 0, h_prev, x_ld, start, finish};
    if (B == 1)
        step.template run<kGateSingle<G>, G, 1>(1, parallel);
    else
        step.template run<G, G, kGateCols<G>>(B, parallel);
}

// Backward: dz's G gates, each padded to mp, are the rows; the panels are vectors of units.
// rows = 0 (no step after this one) leaves start as it is.
template <typename T, int G, typename Start, typename Finish>
inline void gated_backward_step(const T* A, Eigen::Index m, bool rows, const T* dz_next,
                                Eigen::Index x_ld, Start start, Finish finish, int B,
                                Parallel* parallel) {
    const Eigen::Index mp = padded<T>(m);
    const GatedStep<T, Start, Finish> step{A,       mp / kLanes<T>, rows ? G : 0, m,     mp,
                                           dz_next, x_ld,           start,        finish};
    if (B == 1)
        step.template run<kPanelSingle, 1, 1>(1, parallel);
    else
        step.template run<kBackVectors, 1, kGateCols<kBackVectors>>(B, parallel);
}

// The panel widths each copy is packed with, for a batch of B columns.
template <int G>
constexpr int forward_panel(int B) {
    return B == 1 ? kGateSingle<G> : G;
}
constexpr int backward_panel(int B) {
    return B == 1 ? kPanelSingle : kBackVectors;
}

// A gated layer's two packed copies of W (G m, m), packed from W once per sequence for a batch
// of B columns. Their padding (zero) moves with the panel widths, which depend on B, so they
// are zeroed again when a new B changes the widths.
template <typename T, int G>
struct PackedGates {
    Vec<T> forward;   // for gated_forward_step (pack_gates_forward)
    Vec<T> backward;  // for gated_backward_step (pack_gates_backward)

    void pack(const T* W, Eigen::Index m, int B) {
        const Eigen::Index size = G * padded<T>(m) * m;
        if (forward.size() != size || forward_panel<G>(B_) != forward_panel<G>(B) ||
            backward_panel(B_) != backward_panel(B)) {
            forward.setZero(size);
            backward.setZero(size);
        }
        B_ = B;
        pack_gates_forward(W, m, G, forward_panel<G>(B), forward.data());
        pack_gates_backward(W, m, G, backward_panel(B), backward.data());
    }

private:
    int B_ = 0;
};

}  // namespace kernels
}  // namespace charrnn
