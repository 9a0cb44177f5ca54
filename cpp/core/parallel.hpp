// The threads of the native core: a small pool that runs a loop's tasks on its threads, the
// caller's among them. Results never depend on how many threads run: callers cut work into
// tasks by its size alone (never by the thread count), each task writes outputs of its own, and
// a reduction adds the tasks' partial results in task order. So a run is bit-identical at any
// --threads, and a resumed run may change it.
// Not here: what the tasks compute (cells/, model/, optim/).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace charrnn {

class Parallel {
public:
    // threads >= 1: the caller and threads - 1 workers, started now.
    explicit Parallel(int threads = 1);
    ~Parallel();
    Parallel(const Parallel&) = delete;
    Parallel& operator=(const Parallel&) = delete;

    int threads() const { return threads_; }

    // fn(task) for every task in [0, tasks), spread over the threads; returns when all are done.
    // The first exception a task throws is rethrown here (after every task has finished).
    template <typename F>
    void run(std::int64_t tasks, const F& fn) {
        if (tasks <= 0) return;
        if (tasks == 1 || !usable() || tasks >= 0xffffffffLL) {
            for (std::int64_t i = 0; i < tasks; ++i) fn(i);
            return;
        }
        dispatch(tasks, [](const void* f, std::int64_t i) { (*static_cast<const F*>(f))(i); }, &fn);
    }

    // Tasks of at least `grain` units each, at most `max_tasks`, for `units` of work: how a
    // caller cuts a loop by its size alone.
    static std::int64_t tasks_for(std::int64_t units, std::int64_t grain, std::int64_t max_tasks) {
        const std::int64_t t = units / (grain > 0 ? grain : 1);
        return t < 1 ? 1 : t > max_tasks ? max_tasks : t;
    }

private:
    using Call = void (*)(const void*, std::int64_t);
    void dispatch(std::int64_t tasks, Call call, const void* fn);
    void work();                       // a worker's life
    void take_tasks(std::uint64_t g);  // run tasks of loop g until none is left
    bool usable() const;               // workers exist (not in a forked child, not a 1-thread pool)

    int threads_;
    std::int64_t owner_pid_;             // the process that started the workers
    std::vector<std::thread>* workers_;  // leaked in a forked child, where they do not exist

    // The current loop.
    Call call_ = nullptr;
    const void* fn_ = nullptr;
    std::atomic<std::int64_t> tasks_{0};        // below 2^32 - 1
    std::atomic<std::uint64_t> state_{0};       // the loop's generation << 32 | next task
    std::atomic<std::int64_t> finished_{0};     // tasks done
    std::atomic<std::uint64_t> generation_{0};  // one more per loop; workers wait for a change
    std::exception_ptr error_;
    std::mutex error_mutex_;

    // Sleeping between loops: workers spin a little, then wait here.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<int> sleeping_{0};
    std::atomic<bool> stop_{false};
};

// fn(begin, end) over [0, n) in pieces of `chunk` (the last one shorter), on parallel's threads
// (serially if null). The pieces depend on n and chunk alone.
template <typename F>
void for_chunks(Parallel* parallel, std::int64_t n, std::int64_t chunk, const F& fn) {
    if (n <= 0) return;
    chunk = chunk < 1 ? 1 : chunk;
    const std::int64_t tasks = (n + chunk - 1) / chunk;
    const auto task = [&](std::int64_t i) { fn(i * chunk, std::min(n, (i + 1) * chunk)); };
    if (parallel)
        parallel->run(tasks, task);
    else
        for (std::int64_t i = 0; i < tasks; ++i) task(i);
}

// Threads of a pool, 1 without one.
inline int threads_of(const Parallel* parallel) {
    return parallel ? parallel->threads() : 1;
}

}  // namespace charrnn
