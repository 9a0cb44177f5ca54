// Forward pass, backpropagation through time and the sampling step of the vanilla RNN.
// Everything that does not depend on the previous time step (V H, dV, dW, V^T dO) is one matrix
// product over the whole sequence; only W h_{t-1} forward and W^T da backward are sequential.
#include "rnn.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

namespace charrnn {

namespace {

// 2^k for a whole number 0 <= k <= 58 (tanh_packet's range), given as kk = k + 2^52 + 1023: the
// low mantissa bits of kk are then k + 1023, which shifted up by 52 are the exponent bits of 2^k.
#if defined(EIGEN_VECTORIZE_AVX512)
#define CHARRNN_FAST_EXP 1
inline __m512d exponent_bits(__m512d kk) {
    return _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(kk), 52));
}
#elif defined(EIGEN_VECTORIZE_AVX2)
#define CHARRNN_FAST_EXP 1
inline __m256d exponent_bits(__m256d kk) {
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(kk), 52));
}
#elif defined(EIGEN_VECTORIZE_SSE2) && !defined(EIGEN_VECTORIZE_AVX)
#define CHARRNN_FAST_EXP 1
inline __m128d exponent_bits(__m128d kk) {
    return _mm_castsi128_pd(_mm_slli_epi64(_mm_castpd_si128(kk), 52));
}
#endif

// tanh(x) for double, vectorised. Eigen 3.4 vectorises tanh only for float; for double it calls
// libm's tanh one element at a time, which was a quarter of a training step.
// tanh(x) = sign(x) e / (e + 2) with e = expm1(2|x|): one formula for all x, accurate near 0
// too (e ~ 2|x| there, no cancellation); 3 ulp from libm at most over 3M values. |x| is capped
// at 20 first: tanh(20) rounds to 1 in double, and exp(40) is far from overflow. expm1(y) with
// y = k ln2 + r, |r| <= ln2/2: 2^k expm1(r) + (2^k - 1), 2^k built in the exponent bits (Eigen's
// pexp has a division and a general ldexp; this has neither). NaN stays NaN.
EIGEN_ALWAYS_INLINE Eigen::internal::packet_traits<double>::type tanh_packet(
    const Eigen::internal::packet_traits<double>::type& x) {
    using namespace Eigen::internal;
    using P = packet_traits<double>::type;
    const P a = pmin(pabs(x), pset1<P>(20.0));
#ifdef CHARRNN_FAST_EXP
    const P y = padd(a, a);
    const P k = print(pmul(y, pset1<P>(1.4426950408889634074)));  // round(y / ln2), 0 .. 58
    // ln2 in two parts (fdlibm's): k * ln2_hi is exact for k < 2^11, so r keeps its low bits.
    P r = pmadd(k, pset1<P>(-6.93147180369123816490e-01), y);
    r = pmadd(k, pset1<P>(-1.90821492927058770002e-10), r);
    // expm1(r) = r + r^2 (1/2! + r/3! + .. + r^11/13!), truncation < 2e-17 relative: r is
    // exact, only the smaller second term is rounded.
    constexpr double factorial[] = {2.0,        6.0,         24.0,        120.0,
                                    720.0,      5040.0,      40320.0,     362880.0,
                                    3628800.0,  39916800.0,  479001600.0, 6227020800.0};  // (j+2)!
    P poly = pset1<P>(1.0 / factorial[11]);
    for (int j = 10; j >= 0; --j) poly = pmadd(poly, r, pset1<P>(1.0 / factorial[j]));
    const P expm1_r = pmadd(pmul(r, r), poly, r);
    const P two_k = exponent_bits(padd(k, pset1<P>(4503599627370496.0 + 1023.0)));
    const P e = pmadd(two_k, expm1_r, psub(two_k, pset1<P>(1.0)));  // expm1(2|x|)
#else
    const P e = generic_expm1(padd(a, a));
#endif
    const P t = pdiv(e, padd(e, pset1<P>(2.0)));
    return por(t, pand(x, pset1<P>(-0.0)));  // the sign of x
}

// x <- tanh(x) over n contiguous values.
template <typename T>
void tanh_inplace(T* x, Eigen::Index n) {
    if constexpr (std::is_same_v<T, double>) {
        using namespace Eigen::internal;
        using P = packet_traits<double>::type;
        constexpr Eigen::Index L = packet_traits<double>::size;
        Eigen::Index i = 0;
        for (; i + L <= n; i += L) pstoreu(x + i, tanh_packet(ploadu<P>(x + i)));
        for (; i < n; ++i) x[i] = std::tanh(x[i]);
    } else {
        // Eigen's float tanh is already a vectorised rational approximation.
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> v(x, n);
        v = v.tanh();
    }
}

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
// read src a whole row apart per element and cost ~10% of a training step.
template <typename T>
void transpose_into(const T* src, Eigen::Index rows, Eigen::Index cols, Eigen::Index src_ld,
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
constexpr int panel_vectors(int B) { return B == 1 ? kPanelSingle : kPanelBatch; }

// The packed layout the sequential kernel reads: A (rows, mp), zero-padded to mp columns, is cut
// into panels of `panel` vectors (the last one narrower), stored one after another, each panel
// row-major with its own width. A pass of the kernel over one panel then reads one contiguous
// block (a strided slice of every row of the plain layout cost ~20% more from L2).
// Fills A = src^T if transpose, else A = src; src is (m, m) row-major; the padding columns of
// dst must already be zero.
template <typename T>
void pack_panels(const T* src, Eigen::Index m, Eigen::Index mp, int panel, bool transpose,
                 T* dst) {
    constexpr int L = kLanes<T>;
    for (Eigen::Index i0 = 0; i0 < m; i0 += Eigen::Index(panel) * L) {
        const Eigen::Index width = std::min(Eigen::Index(panel) * L, mp - i0);  // in values
        const Eigen::Index cols = std::min(width, m - i0);                     // real columns
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
    bool transposed;  // M = W^T
    Eigen::Index rows, mp;  // rows of A to add up: m, or 0 when there is nothing to add
    bool reverse;     // walk the panels last to first (see run)
    const T* x;       // column c at x + c mp
    Start start;      // start(c): pointer to start_c
    Finish finish;    // finish(v, c, i): the activation of vector v = rows i .. of column c
    T* out;           // column c at out + c mp

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
    // read first again while still in L1 (32 KB holds 40% of an 80 KB W), ~8% fewer reads from
    // L2. The order of the panels changes no sum, so results do not depend on it.
    void run(int B) const {
        if (!A) return stream(B);
        if (B == 1) return columns<1, kPanelSingle>(0);
        int c0 = 0;
        for (; c0 + 4 <= B; c0 += 4) columns<4, kPanelBatch>(c0);
        switch (B - c0) {
            case 1: return columns<1, kPanelBatch>(c0);
            case 2: return columns<2, kPanelBatch>(c0);
            case 3: return columns<3, kPanelBatch>(c0);
            default: return;
        }
    }
};

// out = sum of the columns of a (column-major): whole columns added as vectors. Eigen's
// rowwise().sum() walks each row across the columns, one scalar at a time.
template <typename Matrix, typename Vector>
void sum_columns(const Matrix& a, Vector&& out) {
    out.setZero();
    for (Eigen::Index col = 0; col < a.cols(); ++col) out += a.col(col);
}

template <typename T, typename Start, typename Finish>
void sequential_step(const T* A, Eigen::Map<const MatR<T>> W, bool transposed, Eigen::Index rows,
                     Eigen::Index mp, bool reverse, const T* x, Start start, Finish finish,
                     T* out, int B) {
    SequentialStep<T, Start, Finish>{A, W, transposed, rows, mp, reverse, x, start, finish, out}
        .run(B);
}

}  // namespace

template <typename T>
void Params<T>::init_normal(double sig, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> normal(0.0, sig);
    flat.setZero();
    // W, U, V are adjacent in the flat block: one loop draws them in row-major order.
    for (Eigen::Index i = 0; i < offset_b(); ++i) flat[i] = T(normal(gen));
}

template <typename T>
void Workspace<T>::resize(int K, int m_, int T_len_, int B_) {
    const int mp_ = (m_ + kLanes<T> - 1) / kLanes<T> * kLanes<T>;
    const Eigen::Index n = Eigen::Index(T_len_) * B_;
    // The packed copies of W are laid out for the batch size's panel width: a new width needs
    // them re-zeroed (their padding moves), even where the other sizes still fit.
    const bool same_panels = panel_vectors(B) == panel_vectors(B_);
    T_len = T_len_;
    B = B_;
    if (Hs.rows() == mp_ && m == m_ && Hs.cols() == n + B_ && P.rows() == K && same_panels)
        return;
    m = m_;
    mp = mp_;
    // Zeroed once: the padding rows (m .. mp) must be zero and are never written with anything
    // else (the kernels keep them at tanh(0) = 0 and 0 * (1 - 0)).
    Hs.setZero(mp, n + B);
    P.setZero(K, n);
    dHout.setZero(mp, n);
    dA.setZero(mp, n);
    const bool blocked = Eigen::Index(m) * mp * Eigen::Index(sizeof(T)) <= kBlockedUpTo;
    Wt.setZero(blocked ? Eigen::Index(m) * mp : 0);
    Wp.setZero(blocked ? Eigen::Index(m) * mp : 0);
    Ub.setZero(K, mp);
}

template <typename T>
double forward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
               int T_len, int B, const Eigen::Ref<const Mat<T>>& h0, Workspace<T>& ws) {
    const int m = params.m;
    ws.resize(params.K, m, T_len, B);
    const Eigen::Index mp = ws.mp;
    // Per-call copies in the kernel's layout (~5% of a batch-1 step): W^T for the forward and W
    // for backward, packed in panels, and U's columns with b added so U x_t + b is one
    // contiguous row.
    const bool blocked = ws.Wt.size() > 0;
    if (blocked) {
        pack_panels(params.W().data(), m, mp, panel_vectors(B), true, ws.Wt.data());
        pack_panels(params.W().data(), m, mp, panel_vectors(B), false, ws.Wp.data());
    }
    transpose_into(params.U().data(), m, params.K, params.K, ws.Ub.data(), mp);
    ws.Ub.leftCols(m).rowwise() += params.b().transpose();
    ws.hidden().leftCols(B) = h0;
    for (int t = 0; t < T_len; ++t) {
        // h_t = tanh(W h_{t-1} + U x_t + b), all B sequences
        const std::int32_t* x_t = inputs + t;
        sequential_step<T>(
            blocked ? ws.Wt.data() : nullptr, params.W(), false, m, mp, t % 2 == 1,
            ws.Hs.col(Eigen::Index(t) * B).data(),
            [&](Eigen::Index c) { return ws.Ub.row(x_t[c * T_len]).data(); },
            [](const Packet<T>& a, Eigen::Index, Eigen::Index) { return a; },
            ws.Hs.col(Eigen::Index(t + 1) * B).data(), B);
        // tanh as its own pass over the B columns (in L1), not inside the kernel's block: there,
        // beside the block's accumulators, the whole step was 2-7% slower at batch 1 and 3% at
        // batch 32 (ab_core.sh).
        tanh_inplace(ws.Hs.col(Eigen::Index(t + 1) * B).data(), mp * B);
    }
    const Eigen::Index n = Eigen::Index(T_len) * B;
    auto& P = ws.P;
    // Column by column: Eigen's replicate() is evaluated coefficient-wise and took 9 us here.
    for (Eigen::Index col = 0; col < n; ++col) P.col(col) = params.c();
    P.noalias() += params.V() * ws.hidden().rightCols(n);            // o_t = V h_t + c
    // Softmax, a group of columns at a time: all its passes (max, shift, exp, sum, scale) run
    // while the group is in L1; at batch 32 the whole (K, T B) block is ~0.5 MB, and five passes
    // over it came from L3. Max-shifted so exp never overflows; the loss is taken as log-sum-exp
    // minus the target logit, so a tiny p[y] cannot become log(0). One exp over each group's
    // contiguous block keeps the SIMD loop whole (per column, K % width entries went through
    // scalar libm exp).
    constexpr Eigen::Index kGroup = 8;
    Eigen::Matrix<T, 1, kGroup> col_max, col_sum;
    double loss = 0.0;
    for (Eigen::Index g0 = 0; g0 < n; g0 += kGroup) {
        const Eigen::Index len = std::min(kGroup, n - g0);
        auto group = P.middleCols(g0, len);
        col_max.head(len) = group.colwise().maxCoeff();
        for (Eigen::Index i = 0; i < len; ++i) {
            const Eigen::Index col = g0 + i, t = col / B, j = col % B;
            loss -= double(P(targets[j * T_len + t], col) - col_max[i]);  // o_y - max
            group.col(i).array() -= col_max[i];
        }
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> block(group.data(), group.size());
        block = block.exp();
        col_sum.head(len) = group.colwise().sum();
        for (Eigen::Index i = 0; i < len; ++i) {
            group.col(i) *= T(1) / col_sum[i];                         // p_t = softmax(o_t)
            loss += double(std::log(col_sum[i]));                      // -log p_t[y_t]
        }
    }
    return loss / B;
}

template <typename T>
void backward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
              Workspace<T>& ws, Params<T>& grads) {
    const int T_len = ws.T_len, B = ws.B, m = ws.m;
    const Eigen::Index n = Eigen::Index(T_len) * B, mp = ws.mp;
    const T scale = T(1) / T(B);  // the loss is a mean over the batch
    // d_o = (p_t - onehot(y_t)) / B    softmax + cross-entropy; reuses P's storage. The 1/B is
    // left to the products that read d_o (a GEMM's scalar factor costs nothing; a pass over
    // d_o at batch 32 was ~0.5 MB).
    auto& d_o = ws.P;
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j) d_o(targets[j * T_len + t], Eigen::Index(t) * B + j) -= T(1);
    const auto H = ws.hidden().rightCols(n);      // h_1 .. h_T
    const auto H_prev = ws.hidden().leftCols(n);  // h_0 .. h_{T-1}
    grads.V().noalias() = scale * d_o * H.transpose();               // o = V h + c
    sum_columns(d_o, grads.c());
    if (B > 1) grads.c() *= scale;
    // h_t feeds o_t and a_{t+1}: dh_t = V^T d_o_t + W^T da_{t+1}. The first part of every step
    // is one product; the kernel adds the second and applies tanh' as it walks back in time.
    ws.dHout.topRows(m).noalias() = scale * params.V().transpose() * d_o;
    for (int t = T_len - 1; t >= 0; --t) {
        const Eigen::Index col = Eigen::Index(t) * B;
        const T* h_t = ws.Hs.col(col + B).data();
        sequential_step<T>(                                           // da_t = (1 - h_t^2) .* dh_t
            ws.Wp.size() > 0 ? ws.Wp.data() : nullptr, params.W(), true, t + 1 < T_len ? m : 0,
            mp, t % 2 == 1, ws.dA.col(std::min(col + B, n - B)).data(),
            [&](Eigen::Index c) { return ws.dHout.col(col + c).data(); },
            [&](const Packet<T>& dh, Eigen::Index c, Eigen::Index i) {
                using namespace Eigen::internal;
                const Packet<T> h = ploadu<Packet<T>>(h_t + c * mp + i);
                return pmul(dh, psub(pset1<Packet<T>>(T(1)), pmul(h, h)));
            },
            ws.dA.col(col).data(), B);
    }
    const auto dA = ws.dA.topRows(m);
    grads.W().noalias() = dA * H_prev.transpose();                   // a = W h_{t-1} + U x + b
    sum_columns(dA, grads.b());
    // dU's column x_t gets da_t. Added as rows of dU^T (whole vectors; a column of the row-major
    // dU is a strided scalar loop), in Ub's storage, which only forward reads; then one
    // transpose into dU. Ub's padding columns stay zero, as forward needs: da's padding rows
    // are zero.
    auto& dU_T = ws.Ub;
    dU_T.setZero();
    for (int t = 0; t < T_len; ++t)
        for (int j = 0; j < B; ++j)
            dU_T.row(inputs[j * T_len + t]) += ws.dA.col(Eigen::Index(t) * B + j).transpose();
    transpose_into(dU_T.data(), dU_T.rows(), Eigen::Index(m), mp, grads.U().data(), dU_T.rows());
}

template <typename T>
void step_probs(const Params<T>& params, Vec<T>& h, int x, double temperature, Vec<T>& probs) {
    Vec<T> a = params.W() * h + params.U().col(x) + params.b();
    tanh_inplace(a.data(), a.size());
    h = a;
    probs = params.V() * h + params.c();
    // Shift by the max before dividing: (o - max) / temperature is <= 0 with a 0 at the argmax,
    // so even a temperature of 1e-320 gives exp(0) = 1 there instead of inf/inf = NaN.
    probs = ((probs.array() - probs.maxCoeff()) / T(temperature)).exp().matrix();
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
