// Clipping and AdaGrad over the flat parameter block (see optim.hpp).
#include "optim/optim.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace charrnn {

template <typename T>
void clip_gradients(Params<T>& grads, double limit) {
    grads.flat = grads.flat.cwiseMax(T(-limit)).cwiseMin(T(limit));
}

template <typename T>
void adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double eps) {
    memory.flat.array() += grads.flat.array().square();
    params.flat.array() -= T(eta) * grads.flat.array() / (memory.flat.array() + T(eps)).sqrt();
}

namespace {

// The fused update on entries [i, n) in the exact form (a sqrt and a division each). The tail of
// the vector loop, the fallback for entries the fast reciprocal square root cannot take, and the
// whole update on CPUs without AVX2: there, blocks of Eigen array expressions (SSE2) small
// enough to stay in L1 between sub-steps, as a scalar loop's sqrt is not vectorised (errno).
template <typename T>
void clip_adagrad_exact(T* p, const T* g, T* mem, T* save, Eigen::Index i, Eigen::Index n,
                        T limit, T eta, T eps) {
    using A = Eigen::Array<T, Eigen::Dynamic, 1>;
    constexpr Eigen::Index block = 512;
    T clipped[block];
    for (; i < n; i += block) {
        const Eigen::Index len = std::min(block, n - i);
        Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> gc(clipped, len), mi(mem + i, len),
            pi(p + i, len);
        gc = Eigen::Map<const A>(g + i, len).cwiseMax(-limit).cwiseMin(limit);
        mi += gc.square();
        if (save) Eigen::Map<A>(save + i, len) = pi;
        pi -= eta * gc / (mi + eps).sqrt();
    }
}

// SIMD shim: the few operations the vector loop needs, for one register width.
#if defined(__AVX512F__)
struct Simd64 {  // 8 doubles
    using V = __m512d;
    static constexpr int L = 8;
    static V set1(double x) { return _mm512_set1_pd(x); }
    static V load(const double* x) { return _mm512_loadu_pd(x); }
    static void store(double* x, V v) { _mm512_storeu_pd(x, v); }
    static V min(V a, V b) { return _mm512_min_pd(a, b); }
    static V max(V a, V b) { return _mm512_max_pd(a, b); }
    static V add(V a, V b) { return _mm512_add_pd(a, b); }
    static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }  // c - a b
    // rsqrt14: relative error < 2^-14, for the whole double range; two Newton steps -> ~2^-53.
    static V rsqrt_estimate(V s) { return _mm512_rsqrt14_pd(s); }
    static constexpr int newton_steps = 2;
    static bool in_range(V) { return true; }
};
struct Simd32 {  // 16 floats
    using V = __m512;
    static constexpr int L = 16;
    static V set1(float x) { return _mm512_set1_ps(x); }
    static V load(const float* x) { return _mm512_loadu_ps(x); }
    static void store(float* x, V v) { _mm512_storeu_ps(x, v); }
    static V min(V a, V b) { return _mm512_min_ps(a, b); }
    static V max(V a, V b) { return _mm512_max_ps(a, b); }
    static V add(V a, V b) { return _mm512_add_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
    static V rsqrt_estimate(V s) { return _mm512_rsqrt14_ps(s); }
    static constexpr int newton_steps = 1;
    static bool in_range(V) { return true; }
};
#define CHARRNN_FAST_ADAGRAD 1
#elif defined(__AVX2__) && defined(__FMA__)
struct Simd64 {  // 4 doubles
    using V = __m256d;
    static constexpr int L = 4;
    static V set1(double x) { return _mm256_set1_pd(x); }
    static V load(const double* x) { return _mm256_loadu_pd(x); }
    static void store(double* x, V v) { _mm256_storeu_pd(x, v); }
    static V min(V a, V b) { return _mm256_min_pd(a, b); }
    static V max(V a, V b) { return _mm256_max_pd(a, b); }
    static V add(V a, V b) { return _mm256_add_pd(a, b); }
    static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
    // AVX2 has no double estimate: float rsqrtps (relative error < 1.5 2^-12), widened, then
    // one third-order step y (1 + r/2 + 3r^2/8), r = 1 - s y^2 (error cubed, < 2^-31), and one
    // Newton step: fewer operations than three Newton steps. It needs s inside float's range;
    // other packets take the scalar path.
    static V rsqrt_estimate(V s) {
        const V y = _mm256_cvtps_pd(_mm_rsqrt_ps(_mm256_cvtpd_ps(s)));
        const V r = _mm256_fnmadd_pd(_mm256_mul_pd(s, y), y, set1(1.0));
        return _mm256_fmadd_pd(_mm256_mul_pd(y, r), _mm256_fmadd_pd(r, set1(0.375), set1(0.5)), y);
    }
    static constexpr int newton_steps = 1;
    static bool in_range(V s) {
        const V ok = _mm256_and_pd(_mm256_cmp_pd(s, set1(1e-30), _CMP_GE_OQ),
                                   _mm256_cmp_pd(s, set1(1e30), _CMP_LE_OQ));
        return _mm256_movemask_pd(ok) == 0xF;
    }
};
struct Simd32 {  // 8 floats
    using V = __m256;
    static constexpr int L = 8;
    static V set1(float x) { return _mm256_set1_ps(x); }
    static V load(const float* x) { return _mm256_loadu_ps(x); }
    static void store(float* x, V v) { _mm256_storeu_ps(x, v); }
    static V min(V a, V b) { return _mm256_min_ps(a, b); }
    static V max(V a, V b) { return _mm256_max_ps(a, b); }
    static V add(V a, V b) { return _mm256_add_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
    static V rsqrt_estimate(V s) { return _mm256_rsqrt_ps(s); }  // < 1.5 2^-12
    static constexpr int newton_steps = 2;
    static bool in_range(V) { return true; }
};
#define CHARRNN_FAST_ADAGRAD 1
#endif

#ifdef CHARRNN_FAST_ADAGRAD
// Entries [0, returned index) by SIMD; the caller finishes the tail.
template <typename S, bool Save, typename T>
Eigen::Index clip_adagrad_vector(T* p, const T* g, T* mem, T* save, Eigen::Index n, T limit,
                                 T eta, T eps) {
    using V = typename S::V;
    const V hi = S::set1(limit), lo = S::set1(-limit), veta = S::set1(eta), veps = S::set1(eps);
    const V half = S::set1(T(0.5)), three_halves = S::set1(T(1.5));
    // Two vectors per iteration, each stage written for both: their dependency chains (the
    // estimate and its refinement are ~15 operations in a row) then sit side by side in the
    // instruction stream, and the CPU overlaps them.
    constexpr int U = 2;
    Eigen::Index i = 0;
    for (; i + U * S::L <= n; i += U * S::L) {
        // All loads before any store: p and mem are the same size, so p[i] and mem[i] often
        // share an address modulo 4 KiB, and a load after such a store waits on it.
        V pi[U], gi[U], mi[U], s[U], half_s[U], y[U];
        bool in_range = true;
        for (int u = 0; u < U; ++u) {
            pi[u] = S::load(p + i + u * S::L);
            gi[u] = S::min(S::max(S::load(g + i + u * S::L), lo), hi);  // clip
            mi[u] = S::add(S::load(mem + i + u * S::L), S::mul(gi[u], gi[u]));  // mem += g^2
            s[u] = S::add(mi[u], veps);
            in_range = in_range && S::in_range(s[u]);
        }
        if (!in_range) {
            clip_adagrad_exact(p, g, mem, save, i, i + U * S::L, limit, eta, eps);
            continue;
        }
        // y ~ 1/sqrt(s); Newton for f(y) = 1/y^2 - s: y <- y (1.5 - s/2 y^2), error squared
        // each step. A sqrt and a division per entry cost twice this whole loop.
        for (int u = 0; u < U; ++u) {
            half_s[u] = S::mul(half, s[u]);
            y[u] = S::rsqrt_estimate(s[u]);
        }
        for (int k = 0; k < S::newton_steps; ++k)
            for (int u = 0; u < U; ++u)
                y[u] = S::mul(y[u], S::fnmadd(S::mul(half_s[u], y[u]), y[u], three_halves));
        for (int u = 0; u < U; ++u) {
            S::store(mem + i + u * S::L, mi[u]);
            if constexpr (Save) S::store(save + i + u * S::L, pi[u]);
            // theta -= eta g / sqrt(mem + eps)
            S::store(p + i + u * S::L, S::fnmadd(S::mul(veta, gi[u]), y[u], pi[u]));
        }
    }
    return i;
}
#endif

}  // namespace

template <typename T>
void clip_adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory,
                       double limit, double eta, double eps, T* save_old) {
    T* p = params.flat.data();
    const T* g = grads.flat.data();
    T* mem = memory.flat.data();
    const Eigen::Index n = params.flat.size();
    Eigen::Index done = 0;
#ifdef CHARRNN_FAST_ADAGRAD
    using S = std::conditional_t<sizeof(T) == 8, Simd64, Simd32>;
    done = save_old ? clip_adagrad_vector<S, true>(p, g, mem, save_old, n, T(limit), T(eta), T(eps))
                    : clip_adagrad_vector<S, false>(p, g, mem, save_old, n, T(limit), T(eta), T(eps));
#endif
    clip_adagrad_exact<T>(p, g, mem, save_old, done, n, T(limit), T(eta), T(eps));
}

#define CHARRNN_INSTANTIATE(T)                                                              \
    template void clip_gradients<T>(Params<T>&, double);                                   \
    template void adagrad_step<T>(Params<T>&, const Params<T>&, Params<T>&, double, double); \
    template void clip_adagrad_step<T>(Params<T>&, const Params<T>&, Params<T>&, double,    \
                                       double, double, T*);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
