// Clipping and the optimisers over the flat parameter block (see optim.hpp).
#include "optim/optim.hpp"

#include "core/floating.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace charrnn {

const char* optimizer_name(Optimizer o) {
    switch (o) {
        case Optimizer::adagrad:
            return "adagrad";
        case Optimizer::rmsprop:
            return "rmsprop";
        case Optimizer::adam:
            return "adam";
    }
    return "?";
}

Optimizer parse_optimizer(const std::string& name) {
    for (Optimizer o : {Optimizer::adagrad, Optimizer::rmsprop, Optimizer::adam})
        if (name == optimizer_name(o)) return o;
    throw std::invalid_argument("unknown optimizer '" + name +
                                "': choose 'adagrad', 'rmsprop' or 'adam'");
}

// ---- the separate steps ----------------------------------------------------------------------

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

template <typename T>
void rmsprop_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double decay, double eps) {
    auto g = grads.flat.array();
    auto v = memory.flat.array();
    v = T(decay) * v + T(1 - decay) * g.square();
    params.flat.array() -= T(eta) * g / (v.sqrt() + T(eps));
}

template <typename T>
void adam_step(Params<T>& params, const Params<T>& grads, Params<T>& m, Params<T>& v,
               std::int64_t t, double eta, double beta1, double beta2, double eps) {
    auto g = grads.flat.array();
    auto ma = m.flat.array();
    auto va = v.flat.array();
    ma = T(beta1) * ma + T(1 - beta1) * g;
    va = T(beta2) * va + T(1 - beta2) * g.square();
    const T bc1 = T(1 - std::pow(beta1, double(t))), bc2 = T(1 - std::pow(beta2, double(t)));
    params.flat.array() -= T(eta) * (ma / bc1) / ((va / bc2).sqrt() + T(eps));
}

// ---- the passes' kernels ---------------------------------------------------------------------

namespace {

// The clip of the fused passes on a block: gc = g clipped elementwise, or g times the norm's
// factor.
template <bool Scaled, typename T, typename Out, typename In>
void clip_block(Out& gc, const In& g, T limit_or_factor) {
    if constexpr (Scaled)
        gc = g * limit_or_factor;
    else
        gc = g.cwiseMax(-limit_or_factor).cwiseMin(limit_or_factor);
}

// Each fused update on entries [i, n) in Eigen's array form with the exact sqrt and division:
// the tail of the vector loops, the fallback for entries AdaGrad's fast reciprocal square root
// cannot take, and the whole update on CPUs without AVX2: there, blocks small enough to stay in
// L1 between sub-steps (SSE2), as a scalar loop's sqrt is not vectorised (errno).
constexpr Eigen::Index kBlock = 512;

template <bool Scaled, typename T>
void clip_adagrad_exact(T* p, const T* g, T* mem, T* save, Eigen::Index i, Eigen::Index n, T limit,
                        T eta, T eps) {
    using A = Eigen::Array<T, Eigen::Dynamic, 1>;
    T clipped[kBlock];
    for (; i < n; i += kBlock) {
        const Eigen::Index len = std::min(kBlock, n - i);
        Eigen::Map<A> gc(clipped, len), mi(mem + i, len), pi(p + i, len);
        clip_block<Scaled>(gc, Eigen::Map<const A>(g + i, len), limit);
        mi += gc.square();
        if (save) Eigen::Map<A>(save + i, len) = pi;
        pi -= eta * gc / (mi + eps).sqrt();
    }
}

// decay and 1 - decay arrive separately, each rounded from double: 1 - float(0.99) would be
// 1e-6 off in float32.
template <bool Scaled, typename T>
void clip_rmsprop_exact(T* p, const T* g, T* v, T* save, Eigen::Index i, Eigen::Index n, T limit,
                        T eta, T keep, T add, T eps) {
    using A = Eigen::Array<T, Eigen::Dynamic, 1>;
    T clipped[kBlock];
    for (; i < n; i += kBlock) {
        const Eigen::Index len = std::min(kBlock, n - i);
        Eigen::Map<A> gc(clipped, len), vi(v + i, len), pi(p + i, len);
        clip_block<Scaled>(gc, Eigen::Map<const A>(g + i, len), limit);
        vi = keep * vi + add * gc.square();
        if (save) Eigen::Map<A>(save + i, len) = pi;
        pi -= eta * gc / (vi.sqrt() + eps);
    }
}

// Adam with the bias corrections folded into two constants: step = eta / (1 - beta1^t) and
// c2 = 1 / sqrt(1 - beta2^t), so theta -= step m / (sqrt(v) c2 + eps) (torch's arrangement).
template <bool Scaled, typename T>
void clip_adam_exact(T* p, const T* g, T* m, T* v, T* save, Eigen::Index i, Eigen::Index n, T limit,
                     T step, T c2, T beta1, T a1, T beta2, T a2, T eps) {
    using A = Eigen::Array<T, Eigen::Dynamic, 1>;
    T clipped[kBlock];
    for (; i < n; i += kBlock) {
        const Eigen::Index len = std::min(kBlock, n - i);
        Eigen::Map<A> gc(clipped, len), mi(m + i, len), vi(v + i, len), pi(p + i, len);
        clip_block<Scaled>(gc, Eigen::Map<const A>(g + i, len), limit);
        mi = beta1 * mi + a1 * gc;  // a1 = 1 - beta1
        vi = beta2 * vi + a2 * gc.square();
        if (save) Eigen::Map<A>(save + i, len) = pi;
        pi -= step * mi / (vi.sqrt() * c2 + eps);
    }
}

// y ~ 1/d refined by Newton for f(y) = 1/y - d: y <- y + y (1 - d y), the relative error squared
// each step. The estimate must be finite and nonzero (d > 0 and finite: d >= eps below).
template <typename S, int Steps>
inline typename S::V refine_reciprocal(typename S::V d, typename S::V y) {
    const typename S::V one = S::set1(1);
    for (int k = 0; k < Steps; ++k) y = S::fmadd(y, S::fnmadd(d, y, one), y);
    return y;
}

// SIMD shim: the few operations the vector loops need, for one register width.
#if defined(__AVX512F__)
struct Simd64 {  // 8 doubles
    using V = __m512d;
    static constexpr int L = 8;
    static V set1(double x) { return _mm512_set1_pd(x); }
    static V load(const double* x) { return _mm512_loadu_pd(x); }
    static V load_widen(const float* x) { return _mm512_cvtps_pd(_mm256_loadu_ps(x)); }
    static void store(double* x, V v) { _mm512_storeu_pd(x, v); }
    static V min(V a, V b) { return _mm512_min_pd(a, b); }
    static V max(V a, V b) { return _mm512_max_pd(a, b); }
    static V add(V a, V b) { return _mm512_add_pd(a, b); }
    static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    static V div(V a, V b) { return _mm512_div_pd(a, b); }
    static V sqrt(V a) { return _mm512_sqrt_pd(a); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }    // a b + c
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }  // c - a b
    // rsqrt14: relative error < 2^-14, for the whole double range; two Newton steps -> ~2^-53.
    static V rsqrt_estimate(V s) { return _mm512_rsqrt14_pd(s); }
    static constexpr int newton_steps = 2;
    static bool in_range(V) { return true; }
    // a / d for d > 0 as a times 1 / d: rcp14 (relative error < 2^-14), two Newton steps
    // (~2^-53), within an ulp or two of the division at a third of its cost.
    static V quotient(V a, V d) {
        return mul(a, refine_reciprocal<Simd64, 2>(d, _mm512_rcp14_pd(d)));
    }
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
    static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    static V div(V a, V b) { return _mm512_div_ps(a, b); }
    static V sqrt(V a) { return _mm512_sqrt_ps(a); }
    static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
    static V rsqrt_estimate(V s) { return _mm512_rsqrt14_ps(s); }
    static constexpr int newton_steps = 1;
    static bool in_range(V) { return true; }
    static V quotient(V a, V d) {
        return mul(a, refine_reciprocal<Simd32, 1>(d, _mm512_rcp14_ps(d)));
    }
};
#define CHARRNN_SIMD_OPTIM 1
#elif defined(__AVX2__) && defined(__FMA__)
struct Simd64 {  // 4 doubles
    using V = __m256d;
    static constexpr int L = 4;
    static V set1(double x) { return _mm256_set1_pd(x); }
    static V load(const double* x) { return _mm256_loadu_pd(x); }
    static V load_widen(const float* x) { return _mm256_cvtps_pd(_mm_loadu_ps(x)); }
    static void store(double* x, V v) { _mm256_storeu_pd(x, v); }
    static V min(V a, V b) { return _mm256_min_pd(a, b); }
    static V max(V a, V b) { return _mm256_max_pd(a, b); }
    static V add(V a, V b) { return _mm256_add_pd(a, b); }
    static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
    static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
    static V div(V a, V b) { return _mm256_div_pd(a, b); }
    static V sqrt(V a) { return _mm256_sqrt_pd(a); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
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
    static V quotient(V a, V d) { return div(a, d); }  // AVX2 has no double estimate
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
    static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    static V div(V a, V b) { return _mm256_div_ps(a, b); }
    static V sqrt(V a) { return _mm256_sqrt_ps(a); }
    static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
    static V rsqrt_estimate(V s) { return _mm256_rsqrt_ps(s); }  // < 1.5 2^-12
    static constexpr int newton_steps = 2;
    static bool in_range(V) { return true; }
    // rcpps (< 1.5 2^-12) needs two Newton steps, which measured slower than the division.
    static V quotient(V a, V d) { return div(a, d); }
};
#define CHARRNN_SIMD_OPTIM 1
#endif

#ifdef CHARRNN_SIMD_OPTIM
// The clip on one register: to [-limit, limit], or times the norm's factor.
template <typename S, bool Scaled>
struct VectorClip {
    typename S::V a, b;
    template <typename T>
    explicit VectorClip(T limit_or_factor)
        : a(S::set1(Scaled ? limit_or_factor : -limit_or_factor)), b(S::set1(limit_or_factor)) {}
    typename S::V operator()(typename S::V g) const {
        if constexpr (Scaled)
            return S::mul(g, a);
        else
            return S::min(S::max(g, a), b);
    }
};

// Each vector loop does entries [0, returned index); the caller finishes the tail. Two vectors
// per iteration, each stage written for both: their dependency chains then sit side by side in
// the instruction stream, and the CPU overlaps them. All loads come before any store: p and the
// state arrays are the same size, so p[i] and mem[i] often share an address modulo 4 KiB, and a
// load after such a store waits on it.
constexpr int kUnroll = 2;

template <typename S, bool Save, bool Scaled, typename T>
Eigen::Index clip_adagrad_vector(T* p, const T* g, T* mem, T* save, Eigen::Index n, T limit, T eta,
                                 T eps) {
    using V = typename S::V;
    constexpr int U = kUnroll;
    const VectorClip<S, Scaled> clip(limit);
    const V veta = S::set1(eta), veps = S::set1(eps);
    const V half = S::set1(T(0.5)), three_halves = S::set1(T(1.5));
    Eigen::Index i = 0;
    for (; i + U * S::L <= n; i += U * S::L) {
        V pi[U], gi[U], mi[U], s[U], half_s[U], y[U];
        bool in_range = true;
        for (int u = 0; u < U; ++u) {
            pi[u] = S::load(p + i + u * S::L);
            gi[u] = clip(S::load(g + i + u * S::L));
            mi[u] = S::add(S::load(mem + i + u * S::L), S::mul(gi[u], gi[u]));  // mem += g^2
            s[u] = S::add(mi[u], veps);
            in_range = in_range && S::in_range(s[u]);
        }
        if (!in_range) {
            clip_adagrad_exact<Scaled>(p, g, mem, save, i, i + U * S::L, limit, eta, eps);
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

// RMSprop and Adam keep the exact sqrt; their division by sqrt(v) + eps is the shim's quotient
// (AVX-512: a refined reciprocal, 17-33 % off the loop on a Zen 4 core; docs/performance.md).
// The sqrt from rsqrt14 too measured slower: it needs a guard for v = 0 and a step more.
template <typename S, bool Save, bool Scaled, typename T>
Eigen::Index clip_rmsprop_vector(T* p, const T* g, T* v, T* save, Eigen::Index n, T limit, T eta,
                                 T decay, T one_minus_decay, T eps) {
    using V = typename S::V;
    constexpr int U = kUnroll;
    const VectorClip<S, Scaled> clip(limit);
    const V veta = S::set1(eta), veps = S::set1(eps);
    const V keep = S::set1(decay), add = S::set1(one_minus_decay);
    Eigen::Index i = 0;
    for (; i + U * S::L <= n; i += U * S::L) {
        V pi[U], gi[U], vi[U];
        for (int u = 0; u < U; ++u) {
            pi[u] = S::load(p + i + u * S::L);
            gi[u] = clip(S::load(g + i + u * S::L));
            // v = decay v + (1 - decay) g^2
            vi[u] = S::fmadd(keep, S::load(v + i + u * S::L), S::mul(add, S::mul(gi[u], gi[u])));
        }
        for (int u = 0; u < U; ++u) {
            S::store(v + i + u * S::L, vi[u]);
            if constexpr (Save) S::store(save + i + u * S::L, pi[u]);
            // theta -= eta g / (sqrt(v) + eps)
            const V d = S::add(S::sqrt(vi[u]), veps);
            S::store(p + i + u * S::L, S::sub(pi[u], S::quotient(S::mul(veta, gi[u]), d)));
        }
    }
    return i;
}

template <typename S, bool Save, bool Scaled, typename T>
Eigen::Index clip_adam_vector(T* p, const T* g, T* m, T* v, T* save, Eigen::Index n, T limit,
                              T step, T c2, T beta1, T one_minus_beta1, T beta2, T one_minus_beta2,
                              T eps) {
    using V = typename S::V;
    constexpr int U = kUnroll;
    const VectorClip<S, Scaled> clip(limit);
    const V vstep = S::set1(step), vc2 = S::set1(c2), veps = S::set1(eps);
    const V b1 = S::set1(beta1), a1 = S::set1(one_minus_beta1);
    const V b2 = S::set1(beta2), a2 = S::set1(one_minus_beta2);
    Eigen::Index i = 0;
    for (; i + U * S::L <= n; i += U * S::L) {
        V pi[U], gi[U], mi[U], vi[U];
        for (int u = 0; u < U; ++u) {
            pi[u] = S::load(p + i + u * S::L);
            gi[u] = clip(S::load(g + i + u * S::L));
            // m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
            mi[u] = S::fmadd(b1, S::load(m + i + u * S::L), S::mul(a1, gi[u]));
            vi[u] = S::fmadd(b2, S::load(v + i + u * S::L), S::mul(a2, S::mul(gi[u], gi[u])));
        }
        for (int u = 0; u < U; ++u) {
            S::store(m + i + u * S::L, mi[u]);
            S::store(v + i + u * S::L, vi[u]);
            if constexpr (Save) S::store(save + i + u * S::L, pi[u]);
            // theta -= step m / (sqrt(v) c2 + eps)
            const V d = S::fmadd(S::sqrt(vi[u]), vc2, veps);
            S::store(p + i + u * S::L, S::sub(pi[u], S::quotient(S::mul(vstep, mi[u]), d)));
        }
    }
    return i;
}

template <typename T>
using SimdFor = std::conditional_t<sizeof(T) == 8, Simd64, Simd32>;
#endif

// sum g^2 in double. float entries are widened first (their squares are then exact), so a block
// of millions loses nothing to float's accumulation; 4 accumulators hide the add's latency.
template <typename T>
double sum_of_squares(const T* g, Eigen::Index n) {
    if constexpr (std::is_same_v<T, double>) {
        return Eigen::Map<const Vec<double>>(g, n).squaredNorm();
    } else {
        Eigen::Index i = 0;
        double sum = 0;
#ifdef CHARRNN_SIMD_OPTIM
        using S = Simd64;
        constexpr int U = 4;
        typename S::V acc[U];
        for (int u = 0; u < U; ++u) acc[u] = S::set1(0.0);
        for (; i + U * S::L <= n; i += U * S::L)
            for (int u = 0; u < U; ++u) {
                const typename S::V x = S::load_widen(g + i + u * S::L);
                acc[u] = S::fmadd(x, x, acc[u]);
            }
        double lanes[U * S::L];
        for (int u = 0; u < U; ++u) S::store(lanes + u * S::L, acc[u]);
        for (double x : lanes) sum += x;
#endif
        double tail[4] = {0, 0, 0, 0};
        for (; i + 4 <= n; i += 4)
            for (int u = 0; u < 4; ++u) tail[u] += double(g[i + u]) * double(g[i + u]);
        for (; i < n; ++i) tail[0] += double(g[i]) * double(g[i]);
        return sum + ((tail[0] + tail[1]) + (tail[2] + tail[3]));
    }
}

// Calls f(Save, Scaled) with the run-time flags as std::bool_constant tags (four instantiations).
template <typename F>
void dispatch(bool save, bool scaled, F&& f) {
    if (save) {
        if (scaled)
            f(std::true_type{}, std::true_type{});
        else
            f(std::true_type{}, std::false_type{});
    } else {
        if (scaled)
            f(std::false_type{}, std::true_type{});
        else
            f(std::false_type{}, std::false_type{});
    }
}

}  // namespace

// ---- clipping by the global norm ------------------------------------------------------------

template <typename T>
double gradient_norm(const Params<T>& grads) {
    const double ss = sum_of_squares(grads.flat.data(), grads.flat.size());
    // Above 1e-290 no flushed square (< 2^-1022 each) can move the sum; finite, nothing overflowed.
    if (std::isnan(ss) || (std::isfinite(ss) && ss >= 1e-290)) return std::sqrt(ss);
    // Over- or underflow: scale by the largest entry first (a second pass, and a rare one).
    const double a = double(grads.flat.cwiseAbs().maxCoeff());
    if (a == 0 || !std::isfinite(a)) return a;
    return a * std::sqrt((grads.flat.template cast<double>() / a).squaredNorm());
}

double norm_clip_factor(double norm, double max_norm) {
    const double f = max_norm / (norm + 1e-6);
    return f < 1 ? f : 1.0;
}

template <typename T>
double clip_by_norm(Params<T>& grads, double max_norm) {
    const double norm = gradient_norm(grads);
    const double f = norm_clip_factor(norm, max_norm);
    if (f < 1) grads.flat *= T(f);
    return norm;
}

template <typename T>
Clip norm_clip(const Params<T>& grads, double max_norm) {
    return Clip{true, 0.0, norm_clip_factor(gradient_norm(grads), max_norm)};
}

// ---- the fused steps -------------------------------------------------------------------------

template <typename T>
void clip_adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory,
                       const Clip& clip, double eta, double eps, T* save_old) {
    T* p = params.flat.data();
    const T* g = grads.flat.data();
    T* mem = memory.flat.data();
    const Eigen::Index n = params.flat.size();
    const T c = T(clip.by_norm ? clip.factor : clip.limit);
    dispatch(save_old != nullptr, clip.by_norm, [&](auto save, auto scaled) {
        constexpr bool Save = decltype(save)::value, Scaled = decltype(scaled)::value;
        Eigen::Index done = 0;
#ifdef CHARRNN_SIMD_OPTIM
        done = clip_adagrad_vector<SimdFor<T>, Save, Scaled>(p, g, mem, save_old, n, c, T(eta),
                                                             T(eps));
#endif
        clip_adagrad_exact<Scaled, T>(p, g, mem, save_old, done, n, c, T(eta), T(eps));
    });
}

template <typename T>
void clip_adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double limit,
                       double eta, double eps, T* save_old) {
    clip_adagrad_step(params, grads, memory, clip_by_value(limit), eta, eps, save_old);
}

template <typename T>
void clip_rmsprop_step(Params<T>& params, const Params<T>& grads, Params<T>& memory,
                       const Clip& clip, double eta, double decay, double eps, T* save_old) {
    T* p = params.flat.data();
    const T* g = grads.flat.data();
    T* v = memory.flat.data();
    const Eigen::Index n = params.flat.size();
    const T c = T(clip.by_norm ? clip.factor : clip.limit);
    dispatch(save_old != nullptr, clip.by_norm, [&](auto save, auto scaled) {
        constexpr bool Save = decltype(save)::value, Scaled = decltype(scaled)::value;
        Eigen::Index done = 0;
#ifdef CHARRNN_SIMD_OPTIM
        done = clip_rmsprop_vector<SimdFor<T>, Save, Scaled>(p, g, v, save_old, n, c, T(eta),
                                                             T(decay), T(1 - decay), T(eps));
#endif
        clip_rmsprop_exact<Scaled, T>(p, g, v, save_old, done, n, c, T(eta), T(decay), T(1 - decay),
                                      T(eps));
    });
}

template <typename T>
void clip_adam_step(Params<T>& params, const Params<T>& grads, Params<T>& m, Params<T>& v,
                    const Clip& clip, std::int64_t t, double eta, double beta1, double beta2,
                    double eps, T* save_old) {
    T* p = params.flat.data();
    const T* g = grads.flat.data();
    T* mp = m.flat.data();
    T* vp = v.flat.data();
    const Eigen::Index n = params.flat.size();
    const T c = T(clip.by_norm ? clip.factor : clip.limit);
    // In double, then rounded once: the bias corrections of step t.
    const T step = T(eta / (1 - std::pow(beta1, double(t))));
    const T c2 = T(1 / std::sqrt(1 - std::pow(beta2, double(t))));
    dispatch(save_old != nullptr, clip.by_norm, [&](auto save, auto scaled) {
        constexpr bool Save = decltype(save)::value, Scaled = decltype(scaled)::value;
        Eigen::Index done = 0;
#ifdef CHARRNN_SIMD_OPTIM
        done = clip_adam_vector<SimdFor<T>, Save, Scaled>(p, g, mp, vp, save_old, n, c, step, c2,
                                                          T(beta1), T(1 - beta1), T(beta2),
                                                          T(1 - beta2), T(eps));
#endif
        clip_adam_exact<Scaled, T>(p, g, mp, vp, save_old, done, n, c, step, c2, T(beta1),
                                   T(1 - beta1), T(beta2), T(1 - beta2), T(eps));
    });
}

template <typename T>
void clip_update_step(const OptimSettings& s, Params<T>& params, const Params<T>& grads,
                      OptimState<T>& state, std::int64_t t, T* save_old) {
    const FlushSubnormals flush;  // decaying averages of unused parameters (core/floating.hpp)
    const Clip clip = s.clip_norm > 0 ? norm_clip(grads, s.clip_norm) : clip_by_value(s.clip);
    switch (s.optimizer) {
        case Optimizer::adagrad:
            clip_adagrad_step(params, grads, state.memory, clip, s.eta, s.eps, save_old);
            return;
        case Optimizer::rmsprop:
            clip_rmsprop_step(params, grads, state.memory, clip, s.eta, s.decay, s.eps, save_old);
            return;
        case Optimizer::adam:
            clip_adam_step(params, grads, state.m, state.v, clip, t, s.eta, s.beta1, s.beta2, s.eps,
                           save_old);
            return;
    }
}

#define CHARRNN_INSTANTIATE(T)                                                                     \
    template void clip_gradients<T>(Params<T>&, double);                                           \
    template double gradient_norm<T>(const Params<T>&);                                            \
    template double clip_by_norm<T>(Params<T>&, double);                                           \
    template Clip norm_clip<T>(const Params<T>&, double);                                          \
    template void adagrad_step<T>(Params<T>&, const Params<T>&, Params<T>&, double, double);       \
    template void rmsprop_step<T>(Params<T>&, const Params<T>&, Params<T>&, double, double,        \
                                  double);                                                         \
    template void adam_step<T>(Params<T>&, const Params<T>&, Params<T>&, Params<T>&, std::int64_t, \
                               double, double, double, double);                                    \
    template void clip_adagrad_step<T>(Params<T>&, const Params<T>&, Params<T>&, const Clip&,      \
                                       double, double, T*);                                        \
    template void clip_adagrad_step<T>(Params<T>&, const Params<T>&, Params<T>&, double, double,   \
                                       double, T*);                                                \
    template void clip_rmsprop_step<T>(Params<T>&, const Params<T>&, Params<T>&, const Clip&,      \
                                       double, double, double, T*);                                \
    template void clip_adam_step<T>(Params<T>&, const Params<T>&, Params<T>&, Params<T>&,          \
                                    const Clip&, std::int64_t, double, double, double, double,     \
                                    T*);                                                           \
    template void clip_update_step<T>(const OptimSettings&, Params<T>&, const Params<T>&,          \
                                      OptimState<T>&, std::int64_t, T*);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
