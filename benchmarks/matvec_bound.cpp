// The floor under a gated cell's step at batch 1: each time step multiplies h_{t-1} by all of W
// (G m x m) forward and dz by W^T backward, and W does not fit in L1, so every pass streams it
// from L2. This times one pass of the gated kernel (kernels/recurrent.hpp) with nothing around
// it (start loads zeros, finish stores), on the packed W of a G x m cell and, for contrast, on a
// slice of it small enough for L1; and a plain read of the same bytes (the L2's bandwidth).
// T forward and T - 1 backward passes are then the least a T-character update can take.
// Not built by pip: build by hand, e.g.
//   g++ -O3 -march=x86-64-v4 -DNDEBUG -DEIGEN_MPL2_ONLY -I cpp -isystem cpp/third_party/eigen
//       benchmarks/matvec_bound.cpp cpp/core/parallel.cpp -o /tmp/matvec_bound -lpthread
//   /tmp/matvec_bound [m] [G] [T]      (defaults 100 4 25: the 1 x 100 LSTM, float32)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/floating.hpp"
#include "kernels/recurrent.hpp"

using namespace charrnn;
using namespace charrnn::kernels;

namespace {

using P = Packet<float>;
constexpr int L = kLanes<float>;

// Best of 41 runs of `reps` calls, in microseconds per call.
template <typename F>
double best_us(F&& f, int reps = 2000) {
    double best = 1e300;
    for (int run = 0; run < 41; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) f();
        const std::chrono::duration<double, std::micro> dt = std::chrono::steady_clock::now() - t0;
        best = std::min(best, dt.count() / reps);
    }
    return best;
}

// One forward pass of the gated kernel at batch 1 over a packed (G mp, rows) W.
template <int G>
double forward_pass(Eigen::Index m, Eigen::Index rows) {
    const Eigen::Index mp = padded<float>(m);
    Vec<float> A = Vec<float>::Constant(G * mp * rows, 1e-3f), h = Vec<float>::Ones(rows);
    Vec<float> z = Vec<float>::Zero(G * mp);
    const auto start = [](P* acc, int np, Eigen::Index, Eigen::Index) {
        for (int p = 0; p < np; ++p) acc[p] = Eigen::internal::pset1<P>(0.f);
    };
    const auto finish = [&](P* acc, int np, Eigen::Index, Eigen::Index q0) {
        for (int p = 0; p < np; ++p) Eigen::internal::pstoreu(z.data() + (q0 + p) * L, acc[p]);
    };
    // As gated_forward_step at batch 1, with `rows` rows (m for the whole W).
    const GatedStep<float, decltype(start), decltype(finish)> step{
        A.data(), G * mp / L, 1, rows, 0, h.data(), rows, start, finish};
    return best_us([&] {
        step.template run<kGateSingle<G>, G, 1>(1, nullptr);
        h[0] = z[0];  // a dependency from pass to pass, as in the time loop
    });
}

// Read n floats, summing into 8 registers: the cache's bandwidth with no multiply to wait on.
double read_pass(Eigen::Index n) {
    Vec<float> a = Vec<float>::Constant(n, 1e-3f);
    volatile float sink = 0;
    return best_us([&] {
        P acc[8];
        for (auto& x : acc) x = Eigen::internal::pset1<P>(0.f);
        for (Eigen::Index i = 0; i + 8 * L <= n; i += 8 * L)
            for (int k = 0; k < 8; ++k)
                acc[k] =
                    Eigen::internal::padd(acc[k], Eigen::internal::ploadu<P>(a.data() + i + k * L));
        for (int k = 1; k < 8; ++k) acc[0] = Eigen::internal::padd(acc[0], acc[k]);
        sink = Eigen::internal::predux(acc[0]);
    });
}

template <int G>
void report(int m, int T_len) {
    const Eigen::Index mp = padded<float>(m);
    const double bytes = 4.0 * G * mp * m;
    const double full = forward_pass<G>(m, m);
    // A slice of W that stays in L1 (24 KB): the same kernel, the same row width, fewer rows.
    const Eigen::Index small_rows = std::max<Eigen::Index>(1, 24 * 1024 / (4 * G * mp));
    const double small = forward_pass<G>(m, small_rows);
    const double small_bytes = 4.0 * G * mp * small_rows;
    const double read = read_pass(Eigen::Index(G * mp * m));
    std::printf("float32, %d lanes, G=%d m=%d (padded %lld): packed W %.0f KB\n", L, G, m,
                (long long)mp, bytes / 1024);
    std::printf("  gated forward pass, W from L2:  %7.3f us  %6.1f GB/s\n", full,
                bytes / full / 1e3);
    std::printf("  the same kernel, %4.0f KB in L1:  %7.3f us  %6.1f GB/s\n", small_bytes / 1024,
                small, small_bytes / small / 1e3);
    std::printf("  a plain read of W's bytes:      %7.3f us  %6.1f GB/s\n", read,
                bytes / read / 1e3);
    std::printf("  floor of a T=%d update: %d forward + %d backward passes = %.1f us\n", T_len,
                T_len, T_len - 1, (2 * T_len - 1) * full);
}

}  // namespace

int main(int argc, char** argv) {
    fix_product_blocking();
    const int m = argc > 1 ? std::atoi(argv[1]) : 100, G = argc > 2 ? std::atoi(argv[2]) : 4;
    const int T_len = argc > 3 ? std::atoi(argv[3]) : 25;
    if (m < 1 || T_len < 1 || (G != 3 && G != 4)) {
        std::fprintf(stderr, "usage: %s [m] [G: 4 lstm, 3 gru] [T], m and T positive\n", argv[0]);
        return 2;
    }
    if (G == 4)
        report<4>(m, T_len);
    else
        report<3>(m, T_len);
}
