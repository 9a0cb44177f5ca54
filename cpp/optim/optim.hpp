// Gradient clipping and the AdaGrad update, as separate in-place steps on the flat parameter
// block, plus the fused form the trainer uses (one pass over memory instead of two).
// Not here: the gradients themselves (model/) and the loop that calls these (train/trainer.hpp).
#pragma once

#include "core/layout.hpp"

namespace charrnn {

// g <- min(max(g, -limit), limit), elementwise.
template <typename T>
void clip_gradients(Params<T>& grads, double limit);

// mem += g^2;  theta -= eta g / sqrt(mem + eps)     (exactly as written: a sqrt and a division)
template <typename T>
void adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double eps);

// clip_gradients then adagrad_step in one pass over memory. grads are read, not modified (the
// clipped values are used and dropped: storing them was a sixth of the pass). For speed,
// 1/sqrt(mem + eps) comes from the CPU's reciprocal-square-root estimate refined by Newton
// steps to within a few ulp of the exact form (a sqrt and a division per entry were a fifth of
// a training step), so results match the two-step form to ~1e-15 relative, not bit for bit.
// If save_old is not null, the parameters before the update are also written there (the
// trainer's "best" copy, at no extra pass over memory).
template <typename T>
void clip_adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory,
                       double limit, double eta, double eps, T* save_old = nullptr);

}  // namespace charrnn
