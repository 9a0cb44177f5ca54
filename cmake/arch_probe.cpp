// Exits 0 only if this CPU runs x86-64-v3 code (AVX2, FMA, BMI2): compiled with -march=x86-64-v3
// and run at configure time, so `auto` never builds a module that dies with SIGILL here.
int main() {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
          __builtin_cpu_supports("bmi2")))
        return 1;
    volatile double a = 1.5, b = 2.0, c = 0.25;
    return __builtin_fma(a, b, c) == 3.25 ? 0 : 1;
}
