// Exits 0 only if this CPU runs code built for the level under test: compiled with
// -march=x86-64-v3 (AVX2, FMA, BMI2) or, with CHARRNN_PROBE_V4, -march=x86-64-v4 (AVX-512
// F/BW/DQ/VL/CD) and run at configure time, so `auto` never builds a module that dies with SIGILL.
int main() {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
          __builtin_cpu_supports("bmi2")))
        return 1;
#ifdef CHARRNN_PROBE_V4
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
          __builtin_cpu_supports("avx512cd")))
        return 1;
#endif
    volatile double a = 1.5, b = 2.0, c = 0.25;
    return __builtin_fma(a, b, c) == 3.25 ? 0 : 1;
}
