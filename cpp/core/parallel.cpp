// The core's thread pool (see parallel.hpp).
//
// A loop is published by bumping `generation_`; its tasks are taken from `state_`, which holds
// the loop's generation (high 32 bits) and the next task (low 32 bits), so a worker that wakes
// late can never take a task of a later loop for the one it saw. Before the next loop's
// function and task count are written, `state_` is closed (the new generation, no task left):
// a worker still holding the last loop's state then fails its compare-exchange instead of taking
// a task of the loop being set up. Workers spin briefly for the next loop (a training step's
// loops follow each other within microseconds), then sleep.
#include "core/parallel.hpp"

#include <unistd.h>

#include "core/floating.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace charrnn {

namespace {

inline void relax() {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

constexpr int kSpins = 1 << 14;  // pauses (~0.5-1 ms) before a waiting worker sleeps

}  // namespace

Parallel::Parallel(int threads)
    : threads_(threads < 1 ? 1 : threads),
      owner_pid_(std::int64_t(getpid())),
      workers_(new std::vector<std::thread>) {
    workers_->reserve(threads_ - 1);
    for (int i = 1; i < threads_; ++i) workers_->emplace_back([this] { work(); });
}

Parallel::~Parallel() {
    if (std::int64_t(getpid()) != owner_pid_) return;  // a forked child: no workers to join
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& t : *workers_) t.join();
    delete workers_;
}

bool Parallel::usable() const {
    return threads_ > 1 && std::int64_t(getpid()) == owner_pid_;
}

void Parallel::dispatch(std::int64_t tasks, Call call, const void* fn) {
    const std::uint64_t g = (generation_.load(std::memory_order_relaxed) + 1) & 0xffffffffu;
    state_.store(g << 32 | 0xffffffffu);  // closed while the loop is set up
    call_ = call;
    fn_ = fn;
    tasks_.store(tasks, std::memory_order_relaxed);
    error_ = nullptr;
    finished_.store(0, std::memory_order_relaxed);
    state_.store(g << 32, std::memory_order_release);
    generation_.store(g);  // publishes the loop (seq_cst: ordered against sleeping_ below)
    if (sleeping_.load() > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        wake_.notify_all();
    }
    take_tasks(g);
    while (finished_.load(std::memory_order_acquire) < tasks) relax();
    if (error_) std::rethrow_exception(error_);
}

void Parallel::take_tasks(std::uint64_t g) {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
        const std::int64_t task = std::int64_t(s & 0xffffffffu);
        if ((s >> 32) != g || task >= tasks_.load(std::memory_order_relaxed)) return;
        if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) continue;
        try {
            call_(fn_, task);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
        }
        finished_.fetch_add(1, std::memory_order_release);
        s = state_.load(std::memory_order_acquire);
    }
}

void Parallel::work() {
    const FlushSubnormals flush;  // a worker runs the core's loops only
    std::uint64_t seen = 0;
    for (;;) {
        std::uint64_t g;
        int spins = 0;
        while ((g = generation_.load()) == seen) {
            if (++spins < kSpins) {
                relax();
                continue;
            }
            std::unique_lock<std::mutex> lock(mutex_);
            sleeping_.fetch_add(1);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
            sleeping_.fetch_sub(1);
        }
        if (stop_.load()) return;
        seen = g;
        take_tasks(g);
    }
}

}  // namespace charrnn
