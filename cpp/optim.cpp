// Clipping and AdaGrad over the flat parameter block (see optim.hpp).
#include "optim.hpp"

namespace charrnn {

template <typename T>
void clip_gradients(Params<T>& grads, double limit) {
    grads.flat = grads.flat.cwiseMax(T(-limit)).cwiseMin(T(limit));
}

template <typename T>
void adagrad_step(Params<T>& params, const Params<T>& grads, Params<T>& memory, double eta,
                  double eps) {
    memory.flat.array() += grads.flat.array().square();
    params.flat.array() -= T(eta) * grads.flat.array() / (memory.flat.array() + T(eps)).sqrt();
}

template <typename T>
void clip_adagrad_step(Params<T>& params, Params<T>& grads, Params<T>& memory, double limit,
                       double eta, double eps) {
    auto g = grads.flat.array();
    g = g.cwiseMax(T(-limit)).cwiseMin(T(limit));
    auto mem = memory.flat.array();
    mem += g.square();
    params.flat.array() -= T(eta) * g / (mem + T(eps)).sqrt();
}

#define CHARRNN_INSTANTIATE(T)                                                              \
    template void clip_gradients<T>(Params<T>&, double);                                   \
    template void adagrad_step<T>(Params<T>&, const Params<T>&, Params<T>&, double, double); \
    template void clip_adagrad_step<T>(Params<T>&, Params<T>&, Params<T>&, double, double,  \
                                       double);

CHARRNN_INSTANTIATE(double)
CHARRNN_INSTANTIATE(float)

}  // namespace charrnn
