// The assignment's training loop (see trainer.hpp).
#include "train/trainer.hpp"

#include <algorithm>
#include <cmath>

namespace charrnn {

template <typename T>
Trainer<T>::Trainer(const Params<T>& initial, Streams streams, TrainSettings settings)
    : params(initial),
      best(initial),
      optim_state(settings.optim.optimizer, initial.layout),
      state(initial.spec(), streams.B),
      settings_(settings),
      streams_(std::move(streams)),
      grads_(initial.layout),
      inputs_(std::size_t(streams_.B) * settings.seq_length),
      targets_(std::size_t(streams_.B) * settings.seq_length) {
    set_threads(settings.threads);
}

template <typename T>
void Trainer<T>::set_threads(int threads) {
    settings_.threads = threads < 1 ? 1 : threads;
    parallel_ = std::make_unique<Parallel>(settings_.threads);
    ws_.parallel = parallel_.get();
}

template <typename T>
int Trainer<T>::run(int n, double* losses, double* smooth_losses) {
    const int T_len = settings_.seq_length, B = streams_.B;
    for (int i = 0; i < n; ++i) {
        // No whole window left (a plain text: fewer than T+1 characters): a new epoch starts
        // from the beginning, from h = 0.
        if (!streams_.fits(position, T_len)) {
            position = 0;
            state.set_zero();
            ++epoch;
        }
        // text[e : e+T] and its targets (a plain text: text[e+1 : e+T+1]) of each stream
        streams_.read(position, T_len, inputs_.data(), targets_.data());
        for (int j = 0; j < B; ++j)
            if (streams_.begins_document(j, position)) state.zero_sequence(j, B);
        const Dropout dropout{settings_.dropout, settings_.dropout_seed, step};
        const double loss =
            forward<T>(params, inputs_.data(), targets_.data(), T_len, B, state, ws_, dropout);
        if (!std::isfinite(loss)) {
            diverged = true;
            return i;
        }
        losses[i] = loss;
        if (std::isnan(smooth_loss)) first_loss = loss;
        smooth_loss = std::isnan(smooth_loss) ? loss : 0.999 * smooth_loss + 0.001 * loss;
        if (smooth_losses) smooth_losses[i] = smooth_loss;
        // A new best: `best` gets the parameters as they are now, before this step's update.
        // The update pass writes them there as it goes (early in training this happens almost
        // every step, and a separate copy of the whole block cost a pass over memory).
        const double followed = settings_.debias_best ? debiased_smooth_loss() : smooth_loss;
        const bool new_best = followed < best_smooth_loss;
        if (new_best) {
            best_smooth_loss = followed;
            best_step = step;
        }
        backward(params, inputs_.data(), targets_.data(), ws_, grads_);
        clip_update_step(settings_.optim, params, grads_, optim_state, step + 1,
                         new_best ? best.flat.data() : nullptr);
        ws_.final_state(state);  // h_T (and c_T) of each stream carries over
        position += T_len;
        ++step;
    }
    return n;
}

// The smooth loss s_n = 0.999 s_{n-1} + 0.001 l_n, s_1 = l_1, equals the zero-started average
// z_n = 0.999 z_{n-1} + 0.001 l_n plus 0.999^n l_1: a weight on the first loss that fades only
// over thousands of updates (0.22 of it is left at update 1,500). z_n's weights on the losses
// sum to 1 - 0.999^n; dividing by that (as Adam does for its moments) gives a weighted mean of
// the losses so far that does not lag with the run's length:
//   d_n = (s_n - 0.999^n l_1) / (1 - 0.999^n),  d_1 = l_1.
// n = step + 1 during step `step`; charrnn.losses.debiased is the same in Python.
template <typename T>
double Trainer<T>::debiased_smooth_loss() const {
    if (std::isnan(first_loss)) return smooth_loss;      // a state restored without l_1
    const double w = std::pow(0.999, double(step + 1));  // 0 past ~745,000 updates
    return (smooth_loss - w * first_loss) / (1.0 - w);
}

template class Trainer<double>;
template class Trainer<float>;

}  // namespace charrnn
