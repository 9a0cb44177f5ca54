// Gradient clipping and the AdaGrad update, as separate in-place steps on the flat parameter
// block, plus the fused form the trainer uses (one pass over memory instead of two).
// Not here: the gradients themselves (rnn.hpp) and the loop that calls these (trainer.hpp).
#pragma once

#include "rnn.hpp"

namespace charrnn {

// g <- min(max(g, -limit), limit), elementwise.
template <typename T>
void clip_gradients(Params<T>& grads, double limit);

// mem += g^2;  theta -= eta g / sqrt(mem + eps)
template <typename T>
void adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double eps);

// clip_gradients then adagrad_step, in one pass; grads are left clipped, as the two-step form.
template <typename T>
void clip_adagrad_step(Params<T>& params, Params<T>& grads, Params<T>& memory, double limit,
                       double eta, double eps);

}  // namespace charrnn
