// The assignment's training loop (see trainer.hpp).
#include "train/trainer.hpp"

#include <algorithm>
#include <cmath>

namespace charrnn {

template <typename T>
Trainer<T>::Trainer(const Params<T>& initial, std::vector<std::int32_t> text,
                    TrainSettings settings)
    : params(initial),
      best(initial),
      memory(initial.layout),
      moment(settings.optim.optimizer == Optimizer::adam ? Params<T>(initial.layout) : Params<T>()),
      state(initial.spec(), settings.batch),
      settings_(settings),
      text_(std::move(text)),
      grads_(initial.layout),
      inputs_(std::size_t(settings.batch) * settings.seq_length),
      targets_(std::size_t(settings.batch) * settings.seq_length) {}

template <typename T>
int Trainer<T>::run(int n, double* losses, double* smooth_losses) {
    const int T_len = settings_.seq_length, B = settings_.batch;
    const std::int64_t chunk = chunk_length();
    for (int i = 0; i < n; ++i) {
        // Fewer than T+1 characters left: a new epoch starts from the beginning, from h = 0.
        if (position + T_len + 1 > chunk) {
            position = 0;
            state.set_zero();
            ++epoch;
        }
        for (int j = 0; j < B; ++j) {
            const std::int32_t* seq = text_.data() + j * chunk + position;
            std::copy(seq, seq + T_len, inputs_.begin() + j * T_len);          // text[e : e+T]
            std::copy(seq + 1, seq + T_len + 1, targets_.begin() + j * T_len);  // text[e+1 : e+T+1]
        }
        const Dropout dropout{settings_.dropout, settings_.dropout_seed, step};
        const double loss =
            forward<T>(params, inputs_.data(), targets_.data(), T_len, B, state, ws_, dropout);
        if (!std::isfinite(loss)) {
            diverged = true;
            return i;
        }
        losses[i] = loss;
        smooth_loss = std::isnan(smooth_loss) ? loss : 0.999 * smooth_loss + 0.001 * loss;
        if (smooth_losses) smooth_losses[i] = smooth_loss;
        // A new best: `best` gets the parameters as they are now, before this step's update.
        // The update pass writes them there as it goes (early in training this happens almost
        // every step, and a separate copy of the whole block cost a pass over memory).
        const bool new_best = smooth_loss < best_smooth_loss;
        if (new_best) {
            best_smooth_loss = smooth_loss;
            best_step = step;
        }
        backward(params, inputs_.data(), targets_.data(), ws_, grads_);
        clip_update_step(settings_.optim, params, grads_, memory, moment, step + 1,
                         new_best ? best.flat.data() : nullptr);
        ws_.final_state(state);  // h_T (and c_T) of each stream carries over
        position += T_len;
        ++step;
    }
    return n;
}

template class Trainer<double>;
template class Trainer<float>;

}  // namespace charrnn
