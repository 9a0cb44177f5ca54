// Vectorised activations shared by the cells: tanh (float64 by a division-free expm1, as Eigen
// 3.4 vectorises tanh only for float) and the logistic sigmoid. Elementwise only: no model
// equations here (cells/), no products (sequential.hpp).
#pragma once

#include <cmath>
#include <type_traits>

#include <Eigen/Core>

namespace charrnn {
namespace kernels {

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
// libm's tanh one element at a time, which was a large part of a training step
// (docs/performance.md).
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
    constexpr double factorial[] = {2.0,       6.0,        24.0,        120.0,
                                    720.0,     5040.0,     40320.0,     362880.0,
                                    3628800.0, 39916800.0, 479001600.0, 6227020800.0};  // (j+2)!
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
inline void tanh_inplace(T* x, Eigen::Index n) {
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

// x <- sigmoid(x) = 1 / (1 + exp(-x)) over n contiguous values (Eigen's logistic: vectorised,
// and exact at the extremes, where exp(-x) overflows to inf and 1 / inf = 0).
template <typename T>
inline void sigmoid_inplace(T* x, Eigen::Index n) {
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> v(x, n);
    v = v.logistic();
}

// One packet of each, for code that applies them to values still in registers (the gated
// cells' kernel epilogues): the same functions as tanh_inplace and sigmoid_inplace.
template <typename T>
EIGEN_ALWAYS_INLINE typename Eigen::internal::packet_traits<T>::type tanh_p(
    const typename Eigen::internal::packet_traits<T>::type& x) {
    if constexpr (std::is_same_v<T, double>)
        return tanh_packet(x);
    else
        return Eigen::internal::ptanh(x);
}

template <typename T>
EIGEN_ALWAYS_INLINE typename Eigen::internal::packet_traits<T>::type sigmoid_p(
    const typename Eigen::internal::packet_traits<T>::type& x) {
    return Eigen::internal::scalar_logistic_op<T>().packetOp(x);
}

}  // namespace kernels
}  // namespace charrnn
