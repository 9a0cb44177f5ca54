// Times the parts of one training step (forward, backward, clip+AdaGrad) in C++ alone, without
// Python, so a change to one part can be measured on its own. Not built by pip: build by hand
// with the core's sources, e.g.
//   g++ -O3 -march=x86-64-v3 -DNDEBUG -DEIGEN_MPL2_ONLY -I cpp -isystem cpp/third_party/eigen
//       benchmarks/step_parts.cpp cpp/rnn.cpp cpp/optim.cpp -o /tmp/step_parts
//   /tmp/step_parts [m] [T] [B] [K]
// Separate runs on a shared VM drift by 10-20%; to compare two versions of the core, use
// benchmarks/ab_core.sh, which times both in one process.
#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "optim.hpp"
#include "rnn.hpp"

using namespace charrnn;

// This thread's CPU time in microseconds: time the scheduler gives to other processes on a busy
// machine is not counted (wall time was off by 2x with two other jobs on two cores).
double cpu_us() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

template <typename T>
void run(int m, int T_len, int B, int K) {
    Params<T> params(K, m), grads(K, m), memory(K, m), save(K, m);
    params.init_normal(0.01, 1);
    std::mt19937 gen(2);
    std::vector<std::int32_t> x(std::size_t(B) * T_len), y(x.size());
    for (auto& v : x) v = gen() % K;
    for (auto& v : y) v = gen() % K;
    Mat<T> h0 = Mat<T>::Zero(m, B);
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
    const double f = time([&] { sink = forward<T>(params, x.data(), y.data(), T_len, B, h0, ws); });
    const double fb = time([&] {
        sink = forward<T>(params, x.data(), y.data(), T_len, B, h0, ws);
        backward<T>(params, x.data(), y.data(), ws, grads);
    });
    const double up = time([&] { clip_adagrad_step<T>(params, grads, memory, 5.0, 1e-9, 1e-8); });
    const double up_save =
        time([&] { clip_adagrad_step<T>(params, grads, memory, 5.0, 1e-9, 1e-8, save.flat.data()); });
    const double exact = time([&] {
        clip_gradients(grads, 5.0);
        adagrad_step(params, grads, memory, 1e-9, 1e-8);
    });
    std::printf("%s m=%d T=%d B=%d K=%d: forward %.1f us, backward %.1f us, clip+adagrad fused %.1f us "
                "(+best copy %.1f us), two-step exact %.1f us\n",
                sizeof(T) == 8 ? "f64" : "f32", m, T_len, B, K, f, fb - f, up, up_save, exact);
}

int main(int argc, char** argv) {
    const int m = argc > 1 ? std::atoi(argv[1]) : 100, T_len = argc > 2 ? std::atoi(argv[2]) : 25;
    const int B = argc > 3 ? std::atoi(argv[3]) : 1, K = argc > 4 ? std::atoi(argv[4]) : 76;
    run<double>(m, T_len, B, K);
    run<float>(m, T_len, B, K);
}
