// Two versions of the native core in one process (see ab_core.sh, which builds them into the
// namespaces vA and vB), timed in alternation: full training steps (forward, backward, fused
// clip + AdaGrad) on random indices. The clock of a shared VM drifts by 10-20% within minutes,
// so separate runs cannot show a 5% change; alternating short runs and taking the median of
// the per-pair ratios B/A can.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#define charrnn vA
#include "A/optim.hpp"
#undef charrnn
#define charrnn vB
#include "B/optim.hpp"
#undef charrnn

namespace {

double now_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

// One version's model, workspace and data, as the trainer holds them.
#define CHARRNN_AB_RUNNER(NS)                                                                   \
    template <typename T>                                                                       \
    struct Runner_##NS {                                                                        \
        int K, B, T_len;                                                                        \
        NS::Params<T> params, grads, memory, best;                                              \
        std::vector<std::int32_t> x, y;                                                         \
        NS::Mat<T> h0;                                                                          \
        NS::Workspace<T> ws;                                                                    \
        Runner_##NS(int K_, int m, int T_, int B_)                                              \
            : K(K_), B(B_), T_len(T_), params(K_, m), grads(K_, m), memory(K_, m),              \
              best(K_, m), x(std::size_t(B_) * T_), y(x.size()), h0(NS::Mat<T>::Zero(m, B_)) { \
            params.init_normal(0.01, 1);                                                        \
            std::mt19937 gen(2);                                                                \
            for (auto& v : x) v = std::int32_t(gen() % K);                                      \
            for (auto& v : y) v = std::int32_t(gen() % K);                                      \
        }                                                                                       \
        /* microseconds per step over n steps; the best copy on every other step */             \
        double run(int n) {                                                                     \
            const double t0 = now_us();                                                         \
            for (int i = 0; i < n; ++i) {                                                       \
                NS::forward<T>(params, x.data(), y.data(), T_len, B, h0, ws);                   \
                NS::backward<T>(params, x.data(), y.data(), ws, grads);                         \
                NS::clip_adagrad_step<T>(params, grads, memory, 5.0, 0.1, 1e-8,                 \
                                         i % 2 ? best.flat.data() : nullptr);                   \
            }                                                                                   \
            return (now_us() - t0) / n;                                                         \
        }                                                                                       \
    };
CHARRNN_AB_RUNNER(vA)
CHARRNN_AB_RUNNER(vB)

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <typename T>
void compare(int K, int m, int T_len, int B, int pairs) {
    Runner_vA<T> a(K, m, T_len, B);
    Runner_vB<T> b(K, m, T_len, B);
    // About 20 ms per run, after a warm-up.
    const int n = std::max(1, int(20000 / std::max(1.0, a.run(3))));
    b.run(3);
    std::vector<double> ta, tb, ratio;
    for (int i = 0; i < pairs; ++i) {
        // Alternate which goes first, so a drift within a pair falls on both alike.
        double x, y;
        if (i % 2) {
            y = b.run(n);
            x = a.run(n);
        } else {
            x = a.run(n);
            y = b.run(n);
        }
        ta.push_back(x);
        tb.push_back(y);
        ratio.push_back(y / x);
    }
    std::printf("%s K=%d m=%d T=%d B=%d, %d pairs of %d steps: A %.1f us/step, B %.1f (medians); "
                "B/A %.3f (median of pair ratios; quartiles %.3f-%.3f)\n",
                sizeof(T) == 8 ? "float64" : "float32", K, m, T_len, B, pairs, n, median(ta),
                median(tb), median(ratio), [&] { auto r = ratio; std::sort(r.begin(), r.end());
                                                 return r[r.size() / 4]; }(),
                [&] { auto r = ratio; std::sort(r.begin(), r.end()); return r[3 * r.size() / 4]; }());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s m T B pairs [float32]\n", argv[0]);
        return 2;
    }
    const int m = std::atoi(argv[1]), T_len = std::atoi(argv[2]), B = std::atoi(argv[3]);
    const int pairs = std::atoi(argv[4]);
    if (m < 1 || T_len < 1 || B < 1 || pairs < 1) {
        std::fprintf(stderr, "m, T, B and pairs must be positive\n");
        return 2;
    }
    if (argc > 5)
        compare<float>(76, m, T_len, B, pairs);
    else
        compare<double>(76, m, T_len, B, pairs);
    return 0;
}
