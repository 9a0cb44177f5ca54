// Two versions of the native core in one process (see ab_core.sh), timed in alternation: full
// training steps (forward, backward, fused clip + AdaGrad, or Adam with CHARRNN_AB_OPTIMIZER=adam)
// on random indices. The clock of a shared VM drifts by 10-20% within minutes, so separate runs
// cannot show a 5% change; alternating short runs and taking the median of the per-pair ratios
// B/A can.
//
// This file is compiled three times. With CHARRNN_AB_SIDE defined it is one side's runner, built
// against that side's headers in that side's namespace (-Dcharrnn=vA or vB): a side's headers
// include each other by paths relative to its own cpp/, so the two sides cannot share a
// translation unit. Without it, it is the timing loop, which sees each side only through
// ab::Runner. A side is the model family's core (cpp/core/layout.hpp: Params(spec), a State of
// every layer).
#include <cstdint>
#include <memory>
#include <string>

namespace ab {

struct Config {
    int K, m, T_len, B;
    std::string cell;  // rnn, lstm or gru
    int layers;
    bool adam;  // else AdaGrad
};

// One side's model, workspace and data, as the trainer holds them.
class Runner {
public:
    virtual ~Runner() = default;
    // Microseconds per step over n steps (the best copy saved on every other step).
    virtual double run(int n) = 0;
    virtual std::int64_t parameters() const = 0;  // entries of the flat block
};

}  // namespace ab

#ifdef CHARRNN_AB_SIDE

#include <random>
#include <stdexcept>
#include <vector>

#include <time.h>

#include "model/model.hpp"
#include "optim/optim.hpp"

namespace charrnn {
namespace ab_side {
namespace {

// This thread's CPU time: time the scheduler gives to other processes on a busy machine (the
// tests of other work, compilers) is not charged to whichever side was running.
double now_us() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

template <typename T>
class Runner final : public ab::Runner {
public:
    explicit Runner(const ab::Config& c)
        : B_(c.B),
          T_len_(c.T_len),
          params_(ModelSpec{parse_cell(c.cell), c.K, c.m, c.layers}),
          grads_(params_.layout),
          memory_(params_.layout),
          second_(params_.layout),
          best_(params_.layout),
          adam_(c.adam),
          state0_(params_.spec(), c.B),
          x_(std::size_t(c.B) * c.T_len),
          y_(x_.size()) {
        params_.init(0.01, 1);
        std::mt19937 gen(2);
        for (auto& v : x_) v = std::int32_t(gen() % c.K);
        for (auto& v : y_) v = std::int32_t(gen() % c.K);
    }

    double run(int n) override {
        const double t0 = now_us();
        for (int i = 0; i < n; ++i) {
            forward<T>(params_, x_.data(), y_.data(), T_len_, B_, state0_, ws_);
            backward<T>(params_, x_.data(), y_.data(), ws_, grads_);
            T* save = i % 2 ? best_.flat.data() : nullptr;
            if (adam_)
                clip_adam_step<T>(params_, grads_, memory_, second_, clip_by_value(5.0), ++t_, 2e-3,
                                  0.9, 0.999, 1e-8, save);
            else
                clip_adagrad_step<T>(params_, grads_, memory_, 5.0, 0.1, 1e-8, save);
        }
        return (now_us() - t0) / n;
    }

    std::int64_t parameters() const override { return params_.flat.size(); }

private:
    int B_, T_len_;
    Params<T> params_, grads_, memory_, second_, best_;  // memory_: AdaGrad's, or Adam's m
    bool adam_;
    std::int64_t t_ = 0;
    State<T> state0_;
    std::vector<std::int32_t> x_, y_;  // (B, T) row-major
    Workspace<T> ws_;
};

}  // namespace

std::unique_ptr<ab::Runner> make_runner(const ab::Config& c, bool single) {
    if (single) return std::make_unique<Runner<float>>(c);
    return std::make_unique<Runner<double>>(c);
}

}  // namespace ab_side
}  // namespace charrnn

#else  // the timing loop

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

namespace vA::ab_side {
std::unique_ptr<ab::Runner> make_runner(const ab::Config& c, bool single);
}
namespace vB::ab_side {
std::unique_ptr<ab::Runner> make_runner(const ab::Config& c, bool single);
}

namespace {

double quantile(std::vector<double> v, int num, int den) {
    std::sort(v.begin(), v.end());
    return v[num * v.size() / den];
}

void compare(const ab::Config& c, bool single, int pairs) {
    const auto a = vA::ab_side::make_runner(c, single);
    const auto b = vB::ab_side::make_runner(c, single);
    if (a->parameters() != b->parameters())
        std::printf("warning: A has %lld parameters, B %lld\n", (long long)a->parameters(),
                    (long long)b->parameters());
    // About 20 ms per run, after a warm-up (the first steps allocate the workspace).
    a->run(3);
    b->run(3);
    const int n = std::max(1, int(20000 / std::max(1.0, a->run(3))));
    std::vector<double> ta, tb, ratio;
    for (int i = 0; i < pairs; ++i) {
        // Alternate which goes first, so a drift within a pair falls on both alike.
        double x, y;
        if (i % 2) {
            y = b->run(n);
            x = a->run(n);
        } else {
            x = a->run(n);
            y = b->run(n);
        }
        ta.push_back(x);
        tb.push_back(y);
        ratio.push_back(y / x);
    }
    std::printf(
        "%s %s %s L=%d K=%d m=%d T=%d B=%d, %d pairs of %d steps: A %.1f us/step, B %.1f "
        "(medians); B/A %.3f (median of pair ratios; quartiles %.3f-%.3f)\n",
        single ? "float32" : "float64", c.adam ? "adam" : "adagrad", c.cell.c_str(), c.layers, c.K,
        c.m, c.T_len, c.B, pairs, n, quantile(ta, 1, 2), quantile(tb, 1, 2), quantile(ratio, 1, 2),
        quantile(ratio, 1, 4), quantile(ratio, 3, 4));
}

}  // namespace

// "1,32" -> {"1", "32"}
std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> items;
    std::size_t start = 0;
    for (std::size_t comma; (comma = list.find(',', start)) != std::string::npos; start = comma + 1)
        items.push_back(list.substr(start, comma - start));
    items.push_back(list.substr(start));
    return items;
}

int main(int argc, char** argv) {
    if (argc < 5 || argc > 8) {
        std::fprintf(stderr,
                     "usage: %s m T B pairs [float64|float32 [cell [layers]]]\n"
                     "  B and the type may be lists (1,32 float64,float32): every case is run, "
                     "in turn\n",
                     argv[0]);
        return 2;
    }
    const int m = std::atoi(argv[1]), T_len = std::atoi(argv[2]), pairs = std::atoi(argv[4]);
    const std::string cell = argc > 6 ? argv[6] : "rnn";
    const int layers = argc > 7 ? std::atoi(argv[7]) : 1;
    const char* optimizer = std::getenv("CHARRNN_AB_OPTIMIZER");
    const bool adam = optimizer && std::strcmp(optimizer, "adam") == 0;
    if (optimizer && !adam && std::strcmp(optimizer, "adagrad") != 0) {
        std::fprintf(stderr, "CHARRNN_AB_OPTIMIZER must be adagrad or adam, got '%s'\n", optimizer);
        return 2;
    }
    std::vector<int> batches;
    for (const auto& b : split(argv[3])) batches.push_back(std::atoi(b.c_str()));
    const auto types = split(argc > 5 ? argv[5] : "float64");
    if (m < 1 || T_len < 1 || pairs < 1 || layers < 1 ||
        *std::min_element(batches.begin(), batches.end()) < 1) {
        std::fprintf(stderr, "m, T, B, pairs and layers must be positive\n");
        return 2;
    }
    for (const auto& type : types)
        if (type != "float64" && type != "float32") {
            std::fprintf(stderr, "the type must be float64 or float32, got '%s'\n", type.c_str());
            return 2;
        }
    try {
        for (int B : batches)
            for (const auto& type : types) {
                compare(ab::Config{76, m, T_len, B, cell, layers, adam}, type == "float32", pairs);
                std::fflush(stdout);
            }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ab_core: %s\n", e.what());
        return 1;
    }
    return 0;
}

#endif
