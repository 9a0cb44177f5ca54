// Gradient clipping (elementwise, or by the global L2 norm) and the three optimisers (AdaGrad,
// RMSprop, Adam) on the flat parameter block: each as a separate in-place step written as its
// formula (for tests), and in the fused form the trainer uses (clip + update in one pass).
// Not here: the gradients themselves (model/) and the loop that calls these (train/trainer.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/layout.hpp"

namespace charrnn {

enum class Optimizer { adagrad, rmsprop, adam };
const char* optimizer_name(Optimizer o);
Optimizer parse_optimizer(const std::string& name);  // std::invalid_argument naming the three

// One update's settings: which optimiser, its constants, and how gradients are clipped.
struct OptimSettings {
    Optimizer optimizer = Optimizer::adagrad;
    double eta = 0.1;        // learning rate
    double eps = 1e-8;       // AdaGrad: inside the sqrt; RMSprop, Adam: added to the sqrt
    double clip = 5.0;       // elementwise limit, used when clip_norm == 0
    double clip_norm = 0.0;  // > 0: clip by the global L2 norm to this instead
    double decay = 0.95;     // RMSprop: v's decay (torch's alpha)
    double beta1 = 0.9;      // Adam: m's decay
    double beta2 = 0.999;    // Adam: v's decay
};

// The optimiser's state, as many arrays as it needs (the others empty): AdaGrad's and RMSprop's
// accumulator `memory` (sum, or running mean, of g^2), or Adam's moments m (mean of g) and v
// (mean of g^2).
template <typename T>
struct OptimState {
    Params<T> memory;  // AdaGrad, RMSprop
    Params<T> m, v;    // Adam
    OptimState() = default;
    OptimState(Optimizer o, const std::shared_ptr<const Layout>& layout) {
        if (o == Optimizer::adam) {
            m = Params<T>(layout);
            v = Params<T>(layout);
        } else {
            memory = Params<T>(layout);
        }
    }
};

// ---- the separate steps, exactly as written --------------------------------------------------

// g <- min(max(g, -limit), limit), elementwise.
template <typename T>
void clip_gradients(Params<T>& grads, double limit);

// ||g||_2 over the whole block, accumulated in double. One read pass; a second, scaled one only
// when the sum of squares over- or underflows double (a gradient beyond ~1e154 or below 1e-145).
template <typename T>
double gradient_norm(const Params<T>& grads);

// torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6)). (The 1e-6 keeps a
// zero norm finite; it also scales by 1 - 1e-6/max_norm when norm is just below max_norm.)
double norm_clip_factor(double norm, double max_norm);

// g *= norm_clip_factor(||g||, max_norm), in place. Returns ||g|| before clipping.
template <typename T>
double clip_by_norm(Params<T>& grads, double max_norm);

// mem += g^2;  theta -= eta g / sqrt(mem + eps)     (exactly as written: a sqrt and a division)
template <typename T>
void adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double eps);

// v = decay v + (1 - decay) g^2;  theta -= eta g / (sqrt(v) + eps)
// (char-rnn's rmsprop; torch.optim.RMSprop with alpha = decay, centered = False)
template <typename T>
void rmsprop_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double decay, double eps);

// m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
// theta -= eta (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// t: updates done including this one (1 for the first). As torch.optim.Adam (and torch-rnn).
template <typename T>
void adam_step(Params<T>& params, const Params<T>& grads, Params<T>& m, Params<T>& v,
               std::int64_t t, double eta, double beta1, double beta2, double eps);

// ---- the fused forms (the trainer's) ---------------------------------------------------------
//
// Clip and update in one pass over memory. grads are read, not modified (the clipped values are
// used and dropped: storing them lengthened the pass). If save_old is not null, the
// parameters before the update are also written there (the trainer's "best" copy, at no extra
// pass over memory).

// How a fused step clips: elementwise to [-limit, limit], or every entry times `factor` (clipping
// by the global norm: the norm takes its own read pass, norm_clip, before the update's).
struct Clip {
    bool by_norm = false;
    double limit = 5.0;   // elementwise
    double factor = 1.0;  // by_norm: norm_clip_factor(||g||, max_norm)
};
inline Clip clip_by_value(double limit) {
    return Clip{false, limit, 1.0};
}
template <typename T>
Clip norm_clip(const Params<T>& grads, double max_norm);  // reads the norm; grads unchanged

// AdaGrad. For speed, 1/sqrt(mem + eps) comes from the CPU's reciprocal-square-root estimate
// refined by Newton steps to within a few ulp of the exact form (a sqrt and a division per entry
// were a large part of a training step), so results match the two-step form to ~1e-15 relative, not
// bit for bit.
template <typename T>
void clip_adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory,
                       const Clip& clip, double eta, double eps, T* save_old = nullptr);
template <typename T>
void clip_adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double limit,
                       double eta, double eps, T* save_old = nullptr);

// RMSprop and Adam: the sqrt and the division are exact (IEEE, vectorised), so they match the
// separate steps to an ulp or two (fused multiply-adds, and Adam's bias corrections taken out of
// the loop as eta / (1 - beta1^t) and 1 / sqrt(1 - beta2^t)).
template <typename T>
void clip_rmsprop_step(Params<T>& params, const Params<T>& grads, Params<T>& memory,
                       const Clip& clip, double eta, double decay, double eps,
                       T* save_old = nullptr);
template <typename T>
void clip_adam_step(Params<T>& params, const Params<T>& grads, Params<T>& m, Params<T>& v,
                    const Clip& clip, std::int64_t t, double eta, double beta1, double beta2,
                    double eps, T* save_old = nullptr);

// One whole update as the settings say: the clip (norm pass if clip_norm > 0), then the fused
// step of the chosen optimiser on its state. t: updates done including this one. Subnormal
// numbers are read and written as zero (core/floating.hpp), as in the model's passes.
template <typename T>
void clip_update_step(const OptimSettings& s, Params<T>& params, const Params<T>& grads,
                      OptimState<T>& state, std::int64_t t, T* save_old = nullptr);

}  // namespace charrnn
