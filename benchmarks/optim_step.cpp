// Times the trainer's update pass alone (cpp/optim: clip + AdaGrad, RMSprop or Adam, clipping
// elementwise or by the global norm) in ns per parameter, float64 and float32, on flat blocks of
// a few sizes (one in L2, one in L3, one in DRAM on a typical server core), in one process,
// medians of 21 repetitions of this thread's CPU time. Not built by pip: build by hand, e.g.
//   g++ -O3 -march=x86-64-v4 -DNDEBUG -DEIGEN_MPL2_ONLY -I cpp -isystem cpp/third_party/eigen
//       benchmarks/optim_step.cpp cpp/optim/optim.cpp cpp/core/layout.cpp -o /tmp/optim_step
//   /tmp/optim_step [n ...]       (default sizes: 24000 250000 3300000 parameters)
// The two-step rows are the separate exact steps (clip_gradients, then the optimiser's *_step)
// for comparison: two passes, and the clipped gradients stored.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "optim/optim.hpp"

using namespace charrnn;

namespace {

double cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + double(ts.tv_nsec);
}

// Median over 21 repetitions of ns per parameter, each repetition long enough (~2 ms) to
// swamp the clock's resolution.
double ns_per_param(const std::function<void()>& f, Eigen::Index n) {
    const int reps = std::max<long long>(1, 2'000'000 / std::max<Eigen::Index>(n, 1));
    std::vector<double> t;
    f();  // warm the caches
    for (int r = 0; r < 21; ++r) {
        const double t0 = cpu_ns();
        for (int i = 0; i < reps; ++i) f();
        t.push_back((cpu_ns() - t0) / reps / double(n));
    }
    std::nth_element(t.begin(), t.begin() + 10, t.end());
    return t[10];
}

template <typename T>
void run(Eigen::Index n) {
    // A layout of one vanilla layer is only used to size the blocks: any spec would do.
    const int K = 64;
    const int m = std::max(1, int(std::sqrt(double(K) * K + double(n)) - K));  // m^2 + 2Km ~ n
    Params<T> params(ModelSpec{Cell::rnn, K, m, 1});
    n = params.flat.size();
    Params<T> grads(params.layout), mem(params.layout), mom(params.layout), save(params.layout);
    std::mt19937 gen(1);
    std::normal_distribution<double> d(0, 1);
    for (Eigen::Index i = 0; i < n; ++i) {
        params.flat[i] = T(0.01 * d(gen));
        grads.flat[i] = T(d(gen));
        mem.flat[i] = T(std::abs(d(gen)));
    }
    const char* type = sizeof(T) == 8 ? "float64" : "float32";
    // eta tiny: the parameters barely move, so every repetition sees the same values.
    const double eta = 1e-12;
    const Clip elem = clip_by_value(5.0);
    struct Row {
        std::string name;
        std::function<void()> f;
    };
    std::int64_t t = 1;
    std::vector<Row> rows = {
        {"adagrad  elementwise", [&] { clip_adagrad_step(params, grads, mem, elem, eta, 1e-8); }},
        {"adagrad  +best copy ",
         [&] { clip_adagrad_step(params, grads, mem, elem, eta, 1e-8, save.flat.data()); }},
        {"adagrad  norm       ",
         [&] { clip_adagrad_step(params, grads, mem, norm_clip(grads, 1.0), eta, 1e-8); }},
        {"rmsprop  elementwise",
         [&] { clip_rmsprop_step(params, grads, mem, elem, eta, 0.95, 1e-8); }},
        {"rmsprop  norm       ",
         [&] { clip_rmsprop_step(params, grads, mem, norm_clip(grads, 1.0), eta, 0.95, 1e-8); }},
        {"adam     elementwise",
         [&] { clip_adam_step(params, grads, mom, mem, elem, ++t, eta, 0.9, 0.999, 1e-8); }},
        {"adam     norm       ",
         [&] {
             clip_adam_step(params, grads, mom, mem, norm_clip(grads, 1.0), ++t, eta, 0.9, 0.999,
                            1e-8);
         }},
        {"norm pass alone     ",
         [&] {
             volatile double s = gradient_norm(grads);
             (void)s;
         }},
        {"two-step adagrad    ",
         [&] {
             clip_gradients(grads, 5.0);  // in place: idempotent
             adagrad_step(params, grads, mem, eta, 1e-8);
         }},
        {"two-step rmsprop    ",
         [&] {
             clip_gradients(grads, 5.0);  // in place: idempotent
             rmsprop_step(params, grads, mem, eta, 0.95, 1e-8);
         }},
        {"two-step adam       ",
         [&] {
             clip_gradients(grads, 5.0);  // in place: idempotent
             adam_step(params, grads, mom, mem, ++t, eta, 0.9, 0.999, 1e-8);
         }},
    };
    for (const Row& r : rows)
        std::printf("%s n=%-8lld %s %6.3f ns/param\n", type, (long long)n, r.name.c_str(),
                    ns_per_param(r.f, n));
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<long long> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
    if (sizes.empty()) sizes = {24000, 250000, 3300000};
    for (long long n : sizes) {
        run<double>(n);
        run<float>(n);
    }
}
