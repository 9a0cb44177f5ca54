// Long native loops called from Python: the work runs in chunks with the GIL released, and
// Ctrl-C is checked between chunks (KeyboardInterrupt is raised then). The one place this is
// written; the trainer, sampling and evaluation all go through it.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <chrono>

namespace charrnn::bindings {

// Runs `total` units of work: work(done, k) does up to k units starting at unit `done` and
// returns how many it did; fewer than k ends the run early (a diverged loss, a stop symbol).
// Chunks are of `chunk` units, or, if adapt, resized after each one to take about 50 ms (the
// first of `chunk` units), so Ctrl-C answers quickly whatever a unit costs. Returns the units
// done. The chunk sizes never change results: work must not depend on them.
template <typename Work>
long long run_in_chunks(long long total, long long chunk, bool adapt, Work&& work) {
    namespace py = pybind11;
    long long done = 0;
    while (done < total) {
        const long long k = std::min(chunk, total - done);
        const auto start = std::chrono::steady_clock::now();
        long long ran;
        {
            py::gil_scoped_release release;
            ran = work(done, k);
        }
        done += ran;
        if (ran < k) break;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (adapt) {
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            const double per_unit = std::max(seconds / double(k), 1e-9);
            chunk =
                std::max<long long>(1, std::min<long long>(1 << 20, (long long)(0.05 / per_unit)));
        }
    }
    return done;
}

}  // namespace charrnn::bindings
