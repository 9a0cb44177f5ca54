// charrnn._core: the module itself. Its names are added by params.cpp, functions.cpp,
// trainer.cpp and inspect.cpp; the constants describing the build are here. tools/make_stub.py
// writes the stub (python/charrnn/_core.pyi) from what this module says about itself.
#include <pybind11/pybind11.h>

#include <string>

#include "bindings/bindings.hpp"
#include "core/floating.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    charrnn::fix_product_blocking();  // the same bits on every CPU (core/floating.hpp)
    m.doc() =
        R"doc(charrnn's native core: forward and backward of the model family (rnn, lstm, gru cells in
stacked layers), clipping, AdaGrad, RMSprop, Adam, sampling, evaluation and the training loop,
in C++ with Eigen.

Private: use the `charrnn` package, which re-exports the public names (Params, Params32,
Result, layout, forward_backward, loss, clip_gradients, clip_by_norm, adagrad_step,
rmsprop_step, adam_step, sample, evaluate).

Conventions shared by every function:

- Character indices are integer arrays of any integer dtype, each in [0, K); a target may
  also be -1 ("no prediction", a document's padding). Out of range raises IndexError.
- Real arrays (states, parameter values) may be any real dtype; they are converted to the
  model's (float64 for Params, float32 for Params32). NaN or infinity raises ValueError.
- Shapes: K the vocabulary size, m the hidden units per layer, L the layers, T the sequence
  length, B the batch. A state is (L, m), or (L, B, m) for a batch; a one-layer model also
  takes (m,) or (B, m).
- Params and Params32 do not mix: passing a float32 block where the function got a float64 one
  raises TypeError.

Constants: CELLS, the recurrent cells ('rnn', 'lstm', 'gru'); EIGEN_VERSION, the vendored
Eigen's (e.g. '3.4.0'); ARCH, the CPU level the core was compiled for ('x86-64-v4',
'x86-64-v3', 'portable' or 'native': CHARRNN_ARCH at build time, 'auto' resolving to one of
the first three); SIMD, the instruction sets Eigen says it uses (coarse in Eigen 3.4: an
x86-64-v3 build reads 'AVX SSE, SSE2, ...'; ARCH names the build).)doc";
    charrnn::bindings::bind_params(m);
    charrnn::bindings::bind_functions(m);
    charrnn::bindings::bind_trainer(m);
    charrnn::bindings::bind_inspect(m);
    m.attr("CELLS") = py::make_tuple("rnn", "lstm", "gru");
    m.attr("EIGEN_VERSION") = std::to_string(EIGEN_WORLD_VERSION) + "." +
                              std::to_string(EIGEN_MAJOR_VERSION) + "." +
                              std::to_string(EIGEN_MINOR_VERSION);
    m.attr("SIMD") = std::string(Eigen::SimdInstructionSetsInUse());
    // The -march level the core was built for (cmake/arch.cmake).
    m.attr("ARCH") = CHARRNN_ARCH_NAME;
}
