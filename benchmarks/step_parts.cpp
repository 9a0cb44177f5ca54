// Times the parts of one training step (forward, backward, clip+AdaGrad) in C++ alone, without
// Python, so a change to one part can be measured on its own, for any model of the family. Not
// built by pip: build by hand with the core's sources (all of cpp/ but bindings/), e.g.
//   g++ -O3 -march=x86-64-v3 -DNDEBUG -DEIGEN_MPL2_ONLY -I cpp -isystem cpp/third_party/eigen
//       benchmarks/step_parts.cpp $(find cpp -name '*.cpp' -not -path 'cpp/third_party/*'
//       -not -path 'cpp/bindings/*') -o /tmp/step_parts
//   /tmp/step_parts [m] [T] [B] [K] [cell] [layers] [f32|f64]  (defaults 100 25 1 76 rnn 1, both)
// Separate runs on a shared VM drift by 10-20%; to compare two versions of the core, use
// benchmarks/ab_core.sh, which times both in one process.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/floating.hpp"
#include "model/model.hpp"
#include "optim/optim.hpp"

using namespace charrnn;

// This thread's CPU time in microseconds: time the scheduler gives to other processes on a busy
// machine is not counted (wall time was off by 2x with two other jobs on two cores).
double cpu_us() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

template <typename T>
void run(const ModelSpec& spec, int T_len, int B) {
    Params<T> params(spec);
    Params<T> grads(params.layout), memory(params.layout), save(params.layout);
    params.init(0.01, 1);
    std::mt19937 gen(2);
    std::vector<std::int32_t> x(std::size_t(B) * T_len), y(x.size());
    for (auto& v : x) v = gen() % spec.K;
    for (auto& v : y) v = gen() % spec.K;
    const State<T> state0(spec, B);  // zeros
    Workspace<T> ws;
    auto time = [](auto&& f) {
        std::vector<double> us;
        for (int rep = 0; rep < 21; ++rep) {
            const int n = 50;
            const double t0 = cpu_us();
            for (int i = 0; i < n; ++i) f();
            us.push_back((cpu_us() - t0) / n);
        }
        // The minimum: other processes on the machine only ever add time.
        return *std::min_element(us.begin(), us.end());
    };
    volatile double sink = 0;
    const double f =
        time([&] { sink = forward<T>(params, x.data(), y.data(), T_len, B, state0, ws); });
    const double fb = time([&] {
        sink = forward<T>(params, x.data(), y.data(), T_len, B, state0, ws);
        backward<T>(params, x.data(), y.data(), ws, grads);
    });
    const double up = time([&] { clip_adagrad_step<T>(params, grads, memory, 5.0, 1e-9, 1e-8); });
    const double up_save = time(
        [&] { clip_adagrad_step<T>(params, grads, memory, 5.0, 1e-9, 1e-8, save.flat.data()); });
    const double exact = time([&] {
        clip_gradients(grads, 5.0);
        adagrad_step(params, grads, memory, 1e-9, 1e-8);
    });
    std::printf(
        "%s %s L=%d m=%d T=%d B=%d K=%d (%lld parameters): forward %.1f us, backward "
        "%.1f us, clip+adagrad fused %.1f us (+best copy %.1f us), two-step exact %.1f us\n",
        sizeof(T) == 8 ? "f64" : "f32", cell_name(spec.cell), spec.layers, spec.m, T_len, B, spec.K,
        (long long)params.flat.size(), f, fb - f, up, up_save, exact);
}

int main(int argc, char** argv) {
    charrnn::fix_product_blocking();  // as the module does
    const int m = argc > 1 ? std::atoi(argv[1]) : 100, T_len = argc > 2 ? std::atoi(argv[2]) : 25;
    const int B = argc > 3 ? std::atoi(argv[3]) : 1, K = argc > 4 ? std::atoi(argv[4]) : 76;
    const int layers = argc > 6 ? std::atoi(argv[6]) : 1;
    if (m < 1 || T_len < 1 || B < 1 || K < 1 || layers < 1) {
        std::fprintf(stderr,
                     "usage: %s [m] [T] [B] [K] [rnn|lstm|gru] [layers] [f32|f64], sizes "
                     "positive\n",
                     argv[0]);
        return 2;
    }
    try {
        const ModelSpec spec{parse_cell(argc > 5 ? argv[5] : "rnn"), K, m, layers};
        const std::string dtype = argc > 7 ? argv[7] : "both";
        if (dtype != "f32") run<double>(spec, T_len, B);
        if (dtype != "f64") run<float>(spec, T_len, B);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
