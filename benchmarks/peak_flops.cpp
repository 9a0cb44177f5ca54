// Measures one core's peak floating-point rate: independent FMA chains in registers, no memory.
// Built and run by bench_step.py (g++ -O2 -march=...); prints GFLOP/s for f64 and f32 at the
// widest vector width of the build (AVX-512, else AVX2+FMA, else SSE2 without FMA).
// Not a benchmark of charrnn: it only supplies the denominator of "% of peak".
//
// The chains must stay in registers for the whole loop. An earlier version put an empty asm
// statement with every accumulator as an operand inside the loop; GCC then spilled them to the
// stack each iteration and the "peak" came out at 25 GFLOP/s on a core whose GEMM ran at 40.
// Here the accumulators are only read after the loop (their sum is printed to stderr if it ever
// equals an impossible value, so the compiler cannot drop the work).
#include <immintrin.h>
#include <cstdio>
#include <ctime>
#include <initializer_list>

namespace {

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

#if defined(__AVX512F__)
constexpr const char* kIsa = "avx512";
using V64 = __m512d;
using V32 = __m512;
inline V64 fma(V64 x, V64 a, V64 b) {
    return _mm512_fmadd_pd(x, a, b);
}
inline V32 fma(V32 x, V32 a, V32 b) {
    return _mm512_fmadd_ps(x, a, b);
}
inline V64 splat(double v, V64*) {
    return _mm512_set1_pd(v);
}
inline V32 splat(float v, V32*) {
    return _mm512_set1_ps(v);
}
inline double first(V64 v) {
    return _mm512_cvtsd_f64(v);
}
inline double first(V32 v) {
    return _mm512_cvtss_f32(v);
}
constexpr int kFlopsPerFma = 2;
#elif defined(__FMA__)
constexpr const char* kIsa = "avx2+fma";
using V64 = __m256d;
using V32 = __m256;
inline V64 fma(V64 x, V64 a, V64 b) {
    return _mm256_fmadd_pd(x, a, b);
}
inline V32 fma(V32 x, V32 a, V32 b) {
    return _mm256_fmadd_ps(x, a, b);
}
inline V64 splat(double v, V64*) {
    return _mm256_set1_pd(v);
}
inline V32 splat(float v, V32*) {
    return _mm256_set1_ps(v);
}
inline double first(V64 v) {
    return _mm256_cvtsd_f64(v);
}
inline double first(V32 v) {
    return _mm256_cvtss_f32(v);
}
constexpr int kFlopsPerFma = 2;
#else
constexpr const char* kIsa = "sse2 (mul+add counted as 2)";
using V64 = __m128d;
using V32 = __m128;
inline V64 fma(V64 x, V64 a, V64 b) {
    return _mm_add_pd(_mm_mul_pd(x, a), b);
}
inline V32 fma(V32 x, V32 a, V32 b) {
    return _mm_add_ps(_mm_mul_ps(x, a), b);
}
inline V64 splat(double v, V64*) {
    return _mm_set1_pd(v);
}
inline V32 splat(float v, V32*) {
    return _mm_set1_ps(v);
}
inline double first(V64 v) {
    return _mm_cvtsd_f64(v);
}
inline double first(V32 v) {
    return _mm_cvtss_f32(v);
}
constexpr int kFlopsPerFma = 2;
#endif

// N independent chains: N >= latency x FMA ports hides the latency (4 x 2 on recent x86).
template <typename Vec, typename Scalar, int N>
double gflops(long iters) {
    Vec acc[N];
    for (int i = 0; i < N; ++i) acc[i] = splat(Scalar(i), (Vec*)nullptr);
    const Vec a = splat(Scalar(0.999), (Vec*)nullptr), b = splat(Scalar(1e-3), (Vec*)nullptr);
    const double start = cpu_seconds();
    for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 16
        for (int i = 0; i < N; ++i) acc[i] = fma(acc[i], a, b);
    }
    const double seconds = cpu_seconds() - start;
    double sum = 0;
    for (int i = 0; i < N; ++i) sum += first(acc[i]);
    if (sum == -1.0) std::fprintf(stderr, "%g\n", sum);  // never true: keeps the chains alive
    constexpr int lanes = int(sizeof(Vec) / sizeof(Scalar));
    return double(kFlopsPerFma) * lanes * N * double(iters) / seconds / 1e9;
}

template <typename Vec, typename Scalar>
double best_of(long iters) {
    double best = 0;
    for (double g : {gflops<Vec, Scalar, 8>(iters), gflops<Vec, Scalar, 12>(iters),
                     gflops<Vec, Scalar, 16>(iters)})
        if (g > best) best = g;
    return best;
}

}  // namespace

int main() {
    const long iters = 10'000'000;
    double best64 = 0, best32 = 0;
    for (int rep = 0; rep < 3; ++rep) {
        const double g64 = best_of<V64, double>(iters), g32 = best_of<V32, float>(iters);
        if (g64 > best64) best64 = g64;
        if (g32 > best32) best32 = g32;
    }
    std::printf("{\"isa\": \"%s\", \"peak_gflops_f64\": %.2f, \"peak_gflops_f32\": %.2f}\n", kIsa,
                best64, best32);
}
