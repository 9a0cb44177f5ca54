// Measures one core's peak floating-point rate: independent FMA chains in registers, no memory.
// Built and run by bench_step.py (g++ -O2 -march=native); prints GFLOP/s for f64 and f32 at the
// widest vector width this CPU has (AVX-512, else AVX2+FMA, else SSE2 without FMA).
// Not a benchmark of charrnn: it only supplies the denominator of "% of peak".
#include <chrono>
#include <cstdio>
#include <immintrin.h>

template <typename Vec, typename Fma>
double run(Fma fma, Vec a, Vec b, int lanes, long iters) {
    // 12 accumulators: enough independent chains to cover FMA latency (4) x 2 ports, plus slack.
    Vec acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = b;
    const auto start = std::chrono::steady_clock::now();
    for (long n = 0; n < iters; ++n) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = fma(acc[i], a, b);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]), "+x"(acc[4]),
                         "+x"(acc[5]), "+x"(acc[6]), "+x"(acc[7]), "+x"(acc[8]), "+x"(acc[9]),
                         "+x"(acc[10]), "+x"(acc[11]));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    volatile Vec sink = acc[0];
    (void)sink;
    return 2.0 * lanes * 12.0 * double(iters) / s / 1e9;
}

int main() {
    const long iters = 20'000'000;
    double best64 = 0, best32 = 0;
    const char* isa;
    for (int rep = 0; rep < 5; ++rep) {
#if defined(__AVX512F__)
        isa = "avx512";
        auto f64 = [](__m512d x, __m512d a, __m512d b) { return _mm512_fmadd_pd(x, a, b); };
        auto f32 = [](__m512 x, __m512 a, __m512 b) { return _mm512_fmadd_ps(x, a, b); };
        double g64 = run<__m512d>(f64, _mm512_set1_pd(0.999), _mm512_set1_pd(1e-3), 8, iters);
        double g32 = run<__m512>(f32, _mm512_set1_ps(0.999f), _mm512_set1_ps(1e-3f), 16, iters);
#elif defined(__FMA__)
        isa = "avx2+fma";
        auto f64 = [](__m256d x, __m256d a, __m256d b) { return _mm256_fmadd_pd(x, a, b); };
        auto f32 = [](__m256 x, __m256 a, __m256 b) { return _mm256_fmadd_ps(x, a, b); };
        double g64 = run<__m256d>(f64, _mm256_set1_pd(0.999), _mm256_set1_pd(1e-3), 4, iters);
        double g32 = run<__m256>(f32, _mm256_set1_ps(0.999f), _mm256_set1_ps(1e-3f), 8, iters);
#else
        isa = "sse2 (mul+add counted as 2)";
        auto f64 = [](__m128d x, __m128d a, __m128d b) { return _mm_add_pd(_mm_mul_pd(x, a), b); };
        auto f32 = [](__m128 x, __m128 a, __m128 b) { return _mm_add_ps(_mm_mul_ps(x, a), b); };
        double g64 = run<__m128d>(f64, _mm_set1_pd(0.999), _mm_set1_pd(1e-3), 2, iters);
        double g32 = run<__m128>(f32, _mm_set1_ps(0.999f), _mm_set1_ps(1e-3f), 4, iters);
#endif
        if (g64 > best64) best64 = g64;
        if (g32 > best32) best32 = g32;
    }
    std::printf("{\"isa\": \"%s\", \"peak_gflops_f64\": %.2f, \"peak_gflops_f32\": %.2f}\n", isa,
                best64, best32);
}
