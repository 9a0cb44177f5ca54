// The native training loop: many updates per call over an encoded text (plain, or documents:
// streams.hpp), no Python inside, for any model of the family and any of the optimisers
// (AdaGrad, RMSprop, Adam, see optim.hpp).
// Semantics are the assignment's (see run()); the bindings call run() for chunks of updates
// with the GIL released and check for Ctrl-C between chunks. Checkpoints and logging live in
// Python.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "model/model.hpp"
#include "optim/optim.hpp"
#include "train/streams.hpp"

namespace charrnn {

struct TrainSettings {
    int seq_length = 25;   // T: characters per update
    OptimSettings optim;   // optimiser, its constants, clipping (default: AdaGrad, clip to +-5)
    int threads = 1;       // core/parallel.hpp: results do not depend on it
    double dropout = 0.0;  // p of model/dropout.hpp; 0: off
    std::uint64_t dropout_seed = 0;  // the masks of update `step` are those of (seed, step)
    // What `best` follows. false: the smooth loss itself (the assignment's). true: the same
    // average with its start-up bias removed (run()), which does not lag with the run's length.
    bool debias_best = false;
};

template <typename T>
class Trainer {
public:
    // streams.B sequences per update, at B evenly spaced offsets of the text.
    Trainer(const Params<T>& initial, Streams streams, TrainSettings settings);

    // Runs up to n steps and writes each step's loss and smooth loss into losses[0..] and
    // smooth_losses[0..] (may be null). Returns how many steps ran: fewer than n only when a
    // loss was not finite, in which case that step's update was not applied and `diverged` is set.
    int run(int n, double* losses, double* smooth_losses);

    // Steps in one pass over the text (each of the B streams walks its own part).
    std::int64_t steps_per_epoch() const { return streams_.windows(settings_.seq_length); }
    std::int64_t stream_length() const { return streams_.length(); }
    int batch() const { return streams_.B; }
    const TrainSettings& settings() const { return settings_; }
    void set_eta(double eta) { settings_.optim.eta = eta; }  // between runs (a schedule)
    void set_threads(int threads);                           // between runs
    const Streams& streams() const { return streams_; }

    // Training state, public so a checkpoint can read and restore all of it. Adam's t is not
    // stored: the update after `step` updates is Adam's t = step + 1, so params, the optimiser's
    // state and step restored into a fresh trainer continue bit for bit.
    Params<T> params, best;
    OptimState<T> optim_state;  // memory (AdaGrad, RMSprop) or m and v (Adam)
    State<T> state;             // carried into the next step: h (and c) of every layer
    std::int64_t step = 0;      // updates done so far
    std::int64_t position = 0;  // e: offset of the next sequence within each stream
    std::int64_t epoch = 0;     // completed passes over the text
    double smooth_loss = std::numeric_limits<double>::quiet_NaN();  // NaN until the first step
    double first_loss = std::numeric_limits<double>::quiet_NaN();   // l_1, the loss of step 1
    // The lowest smooth loss so far (with debias_best: the lowest debiased one).
    double best_smooth_loss = std::numeric_limits<double>::infinity();
    std::int64_t best_step = 0;  // params at the start of this step gave best_smooth_loss
    bool diverged = false;

private:
    // The smooth loss with its start-up bias removed, while step `step` runs (see trainer.cpp).
    double debiased_smooth_loss() const;

    TrainSettings settings_;
    Streams streams_;
    Params<T> grads_;
    Workspace<T> ws_;
    std::unique_ptr<Parallel> parallel_;
    std::vector<std::int32_t> inputs_, targets_;  // (B, T) row-major
};

}  // namespace charrnn
