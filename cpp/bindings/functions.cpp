// The functions of charrnn._core: the layout, forward and backward, the loss, dropout masks,
// clipping, the optimisers' steps, sampling and evaluation, each a thin wrapper that checks its
// arguments and calls the core (model/, optim/, train/). Docstrings here; no maths.
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <string>

#include "bindings/bindings.hpp"
#include "bindings/chunks.hpp"
#include "bindings/convert.hpp"
#include "model/model.hpp"
#include "optim/optim.hpp"
#include "train/evaluate.hpp"
#include "train/sample.hpp"

namespace charrnn::bindings {

namespace {

template <typename T>
struct Result {
    double loss = 0;
    Params<T> grads;
    py::object h_last = py::none(), c_last = py::none(), hs = py::none(), cs = py::none(),
               probs = py::none();
};

template <typename T>
Result<T> run_forward_backward(const Params<T>& params, const py::handle& inputs,
                               const py::handle& targets, const py::handle& h0,
                               const py::handle& c0, double dropout, std::uint64_t dropout_seed,
                               long long dropout_step, long long threads) {
    require_finite_params(params, "params");
    const Dropout drop = dropout_settings(dropout, dropout_seed, dropout_step);
    Parallel parallel(thread_count(threads));
    Batch<T> batch = make_batch(params, inputs, targets, h0, c0);
    const ModelSpec& spec = params.spec();
    const int L = spec.layers, T_len = batch.T_len, B = batch.B;
    const Eigen::Index n = Eigen::Index(T_len) * B;
    Result<T> r;
    Workspace<T> ws;
    ws.parallel = &parallel;
    r.grads = Params<T>(params.layout);
    r.loss = forward<T>(params, batch.inputs.data(), batch.targets.data(), T_len, B, batch.state,
                        ws, drop);
    // backward reuses P for d_o: the probabilities are copied out first.
    r.probs = per_step<T>([&](int) { return Eigen::Ref<const Mat<T>>(ws.P); }, 1, spec.K, T_len, B,
                          batch.batched, false);
    backward(params, batch.inputs.data(), batch.targets.data(), ws, r.grads);
    r.hs = per_step<T>([&](int l) { return ws.layers[l]->hidden().rightCols(n); }, L, spec.m, T_len,
                       B, batch.batched, batch.layer_axis);
    State<T> last(spec, B);
    ws.final_state(last);
    r.h_last = state_array<T>(last.h, L, B, batch.batched, batch.layer_axis);
    if (spec.cell == Cell::lstm) {
        r.cs = per_step<T>([&](int l) { return ws.layers[l]->cell_state().rightCols(n); }, L,
                           spec.m, T_len, B, batch.batched, batch.layer_axis);
        r.c_last = state_array<T>(last.c, L, B, batch.batched, batch.layer_axis);
    }
    return r;
}

// The docstrings shared by the float64 and float32 overloads (pybind11 shows both; the stub,
// tools/make_stub.py, merges them).
const char* const kForwardBackwardDoc =
    R"doc(Forward pass and backpropagation through time over one sequence or a batch.

The loss is L = -(1/B) sum_b sum_t log p_t[y_t]: summed over the sequence, averaged over
the batch. A target of -1 predicts nothing; with n real targets the sum over them is
scaled by T/n instead of 1/B (the same when every target counts). Gradients are never
clipped here (see clip_gradients).

Args:
    params: The model (Params, or Params32 for float32 results).
    inputs: Character indices, integer, (T,) or (B, T).
    targets: The next characters, integer, the shape of inputs; -1 for none.
    h0: Initial hidden state of every layer, real: (L, m), or (L, B, m) for a batch; a
        one-layer model also takes (m,) or (B, m). None: zeros.
    c0: lstm only: initial cell state, shaped as h0. None: zeros.
    dropout: Probability in [0, 1) of dropping each unit of each layer's output h_t
        (inverted scaling); 0 turns it off.
    dropout_seed: With dropout_step, selects the masks (see dropout_mask): the same
        arguments give the same masks.
    dropout_step: The update number whose masks are used, >= 0.
    threads: Threads that may run it, 1 to 256; the results are the same for any number.

Returns:
    A Result (Result32 for Params32) with loss, grads, h_last, c_last, hs, cs and probs
    (hs and cs before dropout).

Raises:
    IndexError: An input outside [0, K), or a target outside [-1, K).
    ValueError: Inputs not (T,) or (B, T) with T, B >= 1; targets of another shape;
        non-integer indices; h0 or c0 of the wrong shape or with NaN/infinity; c0 for a
        cell other than lstm; params with NaN/infinity; dropout outside [0, 1), a
        negative dropout_step, or threads outside 1 to 256.
    TypeError: params is not a Params or Params32.)doc";

const char* const kLossDoc =
    R"doc(The loss of forward_backward without the backward pass (for finite
differences).

Arguments, shapes and exceptions are forward_backward's.

Returns:
    L as a Python float.)doc";

const char* const kClipGradientsDoc = R"doc(Clip every gradient entry to [-clip, clip], in place.

Raises:
    ValueError: clip not a finite number > 0.)doc";

const char* const kClipByNormDoc =
    R"doc(Clip by the global L2 norm, in place, as torch.nn.utils.clip_grad_norm_ with
max_norm = clip_norm: grads *= min(1, clip_norm / (||grads|| + 1e-6)).

Returns:
    ||grads|| before clipping.

Raises:
    ValueError: clip_norm not a finite number > 0.)doc";

const char* const kAdagradDoc =
    R"doc(AdaGrad, in place: memory += g^2; params -= eta g / sqrt(memory + eps).

Args:
    params: Updated in place.
    grads: The (clipped) gradients, of the same model and dtype.
    memory: The running sums of squared gradients, updated in place (zeros to start).
    eta: Learning rate, > 0.
    eps: Added under the square root, > 0.

Raises:
    ValueError: Blocks of different models, or eta or eps not a finite number > 0.
    TypeError: Blocks of different dtypes.)doc";

const char* const kRmspropDoc =
    R"doc(RMSprop, in place, as char-rnn's (torch.optim.RMSprop with alpha=decay):
memory = decay memory + (1 - decay) g^2; params -= eta g / (sqrt(memory) + eps).

Args:
    params: Updated in place.
    grads: The (clipped) gradients, of the same model and dtype.
    memory: The running mean of squared gradients, updated in place (zeros to start).
    eta: Learning rate, > 0.
    decay: The mean's decay, in [0, 1).
    eps: Added to the root, > 0.

Raises:
    ValueError: Blocks of different models, eta or eps not a finite number > 0, or decay
        outside [0, 1).
    TypeError: Blocks of different dtypes.)doc";

const char* const kAdamDoc = R"doc(Adam, in place, as torch.optim.Adam: m = beta1 m + (1 - beta1) g;
v = beta2 v + (1 - beta2) g^2;
params -= eta (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).

Args:
    params: Updated in place.
    grads: The (clipped) gradients.
    m: First moments, updated in place (zeros to start).
    v: Second moments, updated in place (zeros to start).
    t: The number of updates including this one (1 for the first).
    eta: Learning rate, > 0.
    beta1: First-moment decay in [0, 1).
    beta2: Second-moment decay in [0, 1).
    eps: Added to the root, > 0.

Raises:
    ValueError: Blocks of different models, t < 1, eta or eps not a finite number > 0,
        or a beta outside [0, 1).
    TypeError: Blocks of different dtypes.)doc";

const char* const kClipUpdateDoc =
    R"doc(For tests: the trainer's fused update (clip, then the optimiser, in one pass; the
norm in a read pass before it if clip_norm > 0) on given gradients, which stay unmodified.

Args:
    state: (memory,) for adagrad and rmsprop, (m, v) for adam, updated in place.
    t: Adam's update number, from 1.)doc";

const char* const kSampleDoc = R"doc(Generate up to n character indices.

The network first reads prime[:-1] from state h0 (and c0); prime[-1] is the first input.
Each next character is drawn by inverse CDF from softmax(o / temperature), restricted to
the smallest set of most likely characters holding top_p of the probability. Same seed,
same characters. The GIL is released; Ctrl-C raises KeyboardInterrupt.

Args:
    params: The model.
    h0: Initial hidden state, (L, m) or, for one layer, (m,); None: zeros.
    prime: Character indices, integer, 1-D, at least one.
    n: Characters to draw, >= 0.
    seed: Seed of the draws, in [0, 2**64).
    temperature: A number > 0: below 1 sharper, above 1 flatter.
    top_p: The nucleus, in (0, 1]; 1 draws from all characters.
    c0: lstm only: initial cell state, shaped as h0; None: zeros.
    stop: A character index after which drawing ends (it is included), or -1.

Returns:
    int32 array (n,), or shorter when `stop` was drawn.

Raises:
    IndexError: A prime index outside [0, K).
    ValueError: An empty or non-1-D prime, n < 0, temperature not > 0, top_p outside
        (0, 1], stop outside [-1, K), a state of the wrong shape, c0 for a cell other
        than lstm, or params with NaN/infinity.)doc";

const char* const kEvaluateDoc =
    R"doc(The summed loss over the predictions of an encoded text, from a zero state.

A plain text predicts text[i+1] from text[:i+1], the state carried from one window of
`window` characters to the next (n = len(text) - 1 for batch 1; batch > 1 reads that
many equal streams side by side, each from a zero state). With targets, text is a
documents layout (charrnn.data.document_streams, made for windows of `window`):
targets[i] (-1: none) is predicted after text[:i+1], and the state is zeroed where a
window begins with the end-of-document symbol `end`. The GIL is released; Ctrl-C raises
KeyboardInterrupt.

Args:
    params: The model.
    text: Character indices, integer, 1-D.
    window: Characters per forward pass (the window of a documents layout), >= 1.
    targets: None, or integer targets the length of text, each in [-1, K).
    end: The end-of-document symbol of a documents layout, or -1.
    batch: Streams read side by side, >= 1.
    threads: Threads that may run it, 1 to 256; the result is the same for any number.

Returns:
    (total, n): the summed loss -sum log p[y] in nats (float) and the number of
    predictions (int). The loss per character is total / n.

Raises:
    IndexError: An index outside [0, K) (a target outside [-1, K)).
    ValueError: Too short a text (at least 2 characters per stream; 1 for documents), a
        documents layout that does not fit the window, a size < 1, threads outside 1 to
        256, or params with NaN/infinity.)doc";

template <typename T>
void bind_functions_of(py::module_& m) {
    using P = Params<T>;
    py::class_<Result<T>>(m, sizeof(T) == 8 ? "Result" : "Result32",
                          (std::string("What forward_backward returns for ") + params_name<T>() +
                           R"doc(: the loss, the gradients and every
activation, in )doc" + dtype_name<T>() +
                           R"doc(.

States follow h0's form: with a leading layer axis L when h0 had one (or was None and
L > 1), with a batch axis B when the inputs were (B, T).)doc")
                              .c_str())
        .def_readonly("loss", &Result<T>::loss,
                      "L = -sum_t log p_t[y_t], the mean over a batch (see forward_backward).")
        .def_readonly("grads", &Result<T>::grads,
                      "The gradient of every array, unclipped, of the model's layout.")
        .def_readonly("h_last", &Result<T>::h_last,
                      "h_T of every layer: (m,), (B, m), (L, m) or (L, B, m), as h0.")
        .def_readonly("c_last", &Result<T>::c_last,
                      "lstm: the cell state c_T, shaped as h_last; None for other cells.")
        .def_readonly("hs", &Result<T>::hs,
                      "h_1 .. h_T: (T, m) or (B, T, m), with a leading L axis as h_last has "
                      "one. Before dropout.")
        .def_readonly("cs", &Result<T>::cs, "lstm: c_1 .. c_T, shaped as hs; None otherwise.")
        .def_readonly("probs", &Result<T>::probs, "p_1 .. p_T: (T, K) or (B, T, K).");

    m.def("forward_backward", &run_forward_backward<T>, py::arg("params"), py::arg("inputs"),
          py::arg("targets"), py::arg("h0") = py::none(), py::arg("c0") = py::none(),
          py::arg("dropout") = 0.0, py::arg("dropout_seed") = 0, py::arg("dropout_step") = 0,
          py::arg("threads") = 1, kForwardBackwardDoc);
    m.def(
        "loss",
        [](const P& params, const py::handle& inputs, const py::handle& targets,
           const py::handle& h0, const py::handle& c0, double dropout, std::uint64_t dropout_seed,
           long long dropout_step, long long threads) {
            require_finite_params(params, "params");
            const Dropout drop = dropout_settings(dropout, dropout_seed, dropout_step);
            Parallel parallel(thread_count(threads));
            Batch<T> batch = make_batch(params, inputs, targets, h0, c0);
            Workspace<T> ws;
            ws.parallel = &parallel;
            return forward<T>(params, batch.inputs.data(), batch.targets.data(), batch.T_len,
                              batch.B, batch.state, ws, drop);
        },
        py::arg("params"), py::arg("inputs"), py::arg("targets"), py::arg("h0") = py::none(),
        py::arg("c0") = py::none(), py::arg("dropout") = 0.0, py::arg("dropout_seed") = 0,
        py::arg("dropout_step") = 0, py::arg("threads") = 1, kLossDoc);
    m.def(
        "clip_gradients",
        [](P& grads, double clip) {
            require_finite_positive(clip, "clip");
            clip_gradients(grads, clip);
        },
        py::arg("grads"), py::arg("clip") = 5.0, kClipGradientsDoc);
    m.def(
        "clip_by_norm",
        [](P& grads, double clip_norm) {
            require_finite_positive(clip_norm, "clip_norm");
            return clip_by_norm(grads, clip_norm);
        },
        py::arg("grads"), py::arg("clip_norm"), kClipByNormDoc);
    m.def(
        "adagrad_step",
        [](P& params, const P& grads, P& memory, double eta, double eps) {
            check_same_layout(params, grads, "grads");
            check_same_layout(params, memory, "memory");
            require_finite_positive(eta, "eta");
            require_finite_positive(eps, "eps");
            adagrad_step(params, grads, memory, eta, eps);
        },
        py::arg("params"), py::arg("grads"), py::arg("memory"), py::arg("eta") = 0.1,
        py::arg("eps") = 1e-8, kAdagradDoc);
    m.def(
        "rmsprop_step",
        [](P& params, const P& grads, P& memory, double eta, double decay, double eps) {
            check_same_layout(params, grads, "grads");
            check_same_layout(params, memory, "memory");
            require_finite_positive(eta, "eta");
            require_unit_interval(decay, "decay");
            require_finite_positive(eps, "eps");
            rmsprop_step(params, grads, memory, eta, decay, eps);
        },
        py::arg("params"), py::arg("grads"), py::arg("memory"), py::arg("eta") = 0.1,
        py::arg("decay") = 0.95, py::arg("eps") = 1e-8, kRmspropDoc);
    m.def(
        "adam_step",
        [](P& params, const P& grads, P& m_, P& v, long long t, double eta, double beta1,
           double beta2, double eps) {
            check_same_layout(params, grads, "grads");
            check_same_layout(params, m_, "m");
            check_same_layout(params, v, "v");
            if (t < 1)
                throw std::invalid_argument(
                    "t counts the updates including this one: it must be >= 1, got " +
                    std::to_string(t));
            require_finite_positive(eta, "eta");
            require_unit_interval(beta1, "beta1");
            require_unit_interval(beta2, "beta2");
            require_finite_positive(eps, "eps");
            adam_step(params, grads, m_, v, t, eta, beta1, beta2, eps);
        },
        py::arg("params"), py::arg("grads"), py::arg("m"), py::arg("v"), py::arg("t"),
        py::arg("eta") = 0.1, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
        py::arg("eps") = 1e-8, kAdamDoc);
    m.def(
        "_clip_update_step",
        [](P& params, const P& grads, const py::tuple& state, long long t,
           const std::string& optimizer, double eta, double eps, double clip, double clip_norm,
           double decay, double beta1, double beta2) {
            const OptimSettings s =
                optim_settings(optimizer, eta, eps, clip, clip_norm, decay, beta1, beta2);
            const bool adam = s.optimizer == Optimizer::adam;
            require(py::len(state) == (adam ? 2u : 1u),
                    std::string("state must be the optimiser's arrays: ") +
                        (adam ? "(m, v)" : "(memory,)"));
            check_same_layout(params, grads, "grads");
            for (const auto& a : state)
                if (!py::isinstance<P>(a))
                    throw py::type_error(std::string("state must hold ") + params_name<T>() +
                                         " blocks");
            P& first = state[0].cast<P&>();
            P& last = state[py::len(state) - 1].cast<P&>();
            check_same_layout(params, first, "state");
            check_same_layout(params, last, "state");
            if (t < 1) throw std::invalid_argument("t must be >= 1, got " + std::to_string(t));
            // The caller's blocks are swapped in and back out: no copies, and the numpy views
            // on them stay valid (a swap exchanges the buffers' pointers).
            OptimState<T> st;
            std::swap(adam ? st.m : st.memory, first);
            if (adam) std::swap(st.v, last);
            clip_update_step(s, params, grads, st, t);
            std::swap(adam ? st.m : st.memory, first);
            if (adam) std::swap(st.v, last);
        },
        py::arg("params"), py::arg("grads"), py::arg("state"), py::arg("t") = 1,
        py::arg("optimizer") = "adagrad", py::arg("eta") = 0.1, py::arg("eps") = 1e-8,
        py::arg("clip") = 5.0, py::arg("clip_norm") = 0.0, py::arg("decay") = 0.95,
        py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, kClipUpdateDoc);
    m.def(
        "sample",
        [](const P& params, const py::handle& h0, const py::handle& prime, long long n,
           std::uint64_t seed, double temperature, double top_p, const py::handle& c0,
           long long stop) {
            require_finite_params(params, "params");
            const ModelSpec& spec = params.spec();
            require(stop >= -1 && stop < spec.K, "stop must be a character index in [0, " +
                                                     std::to_string(spec.K) + ") or -1, got " +
                                                     std::to_string(stop));
            auto prime_arr = as_index_array(prime, "prime", spec.K);
            require(prime_arr.ndim() == 1 && prime_arr.size() > 0,
                    "prime must be a non-empty 1-D array of character indices (its last "
                    "character is the first input), got shape " +
                        shape_string(prime_arr));
            if (n < 0) throw std::invalid_argument("n must be >= 0, got " + std::to_string(n));
            require_finite_positive(temperature, "temperature");
            require(std::isfinite(top_p) && top_p > 0 && top_p <= 1,
                    "top_p must be in (0, 1], got " + std::to_string(top_p));
            if (!c0.is_none() && spec.cell != Cell::lstm)
                throw std::invalid_argument(std::string("c0 is the cell state of an lstm; this ") +
                                            cell_name(spec.cell) + " model has none");
            State<T> state(spec, 1);
            bool axis = false;
            read_state<T>(spec, h0, "h0", 1, false, state.h, axis);
            read_state<T>(spec, c0, "c0", 1, false, state.c, axis);
            std::vector<std::int32_t> prime_idx = to_int32(prime_arr);
            py::array_t<std::int32_t> out{py::ssize_t(n)};
            std::int32_t* dst = out.mutable_data();
            std::unique_ptr<Sampler<T>> sampler;
            {
                py::gil_scoped_release release;
                sampler = std::make_unique<Sampler<T>>(params, std::move(state), prime_idx, seed,
                                                       temperature, top_p);
            }
            const long long done = run_in_chunks(n, 1 << 12, false, [&](long long at, long long k) {
                return sampler->draw(k, dst + at, std::int32_t(stop));  // < k: drew stop
            });
            if (done < n) out.resize({py::ssize_t(done)});
            return out;
        },
        py::arg("params"), py::arg("h0"), py::arg("prime"), py::arg("n"), py::arg("seed") = 0,
        py::arg("temperature") = 1.0, py::arg("top_p") = 1.0, py::arg("c0") = py::none(),
        py::arg("stop") = -1, kSampleDoc);
    m.def(
        "evaluate",
        [](const P& params, const py::handle& text, long long window, const py::handle& targets,
           long long end, long long batch, long long threads) {
            require_finite_params(params, "params");
            thread_count(threads);
            require_positive_size(window, "window");
            const Streams streams = make_streams(text, targets, end, batch, window, params.K());
            require(streams.readable() >= 1, "text must hold at least " +
                                                 std::to_string(streams.documents() ? 1 : 2) +
                                                 " character indices per stream, got " +
                                                 std::to_string(streams.text.size()) +
                                                 " for batch = " + std::to_string(streams.B));
            Evaluation<T> ev(params, streams, int(window), int(threads));
            // Pieces of 2^15 characters of each stream (advance() ends a piece at a window's
            // end only if it fits: the pieces are part of the result's rounding, keep them).
            run_in_chunks(streams.readable(), std::int64_t(1) << 15, false,
                          [&](long long, long long k) {
                              ev.advance(k);
                              return k;
                          });
            return py::make_tuple(ev.total_nats(), ev.predictions());
        },
        py::arg("params"), py::arg("text"), py::arg("window") = 512,
        py::arg("targets") = py::none(), py::arg("end") = -1, py::arg("batch") = 1,
        py::arg("threads") = 1, kEvaluateDoc);
}

const char* const kLayoutDoc =
    R"doc(The parameter layout of a model: one dict per array, in flat-block order.

Args:
    K: Vocabulary size.
    m: Hidden units per layer.
    cell: 'rnn', 'lstm' or 'gru'.
    layers: Number of stacked layers L.
    embedding: D > 0: a (D, K) table E whose column x is what layer 1 reads for
        character x (U1 is then (G m, D)); 0: one-hot characters.

Returns:
    One dict per array with keys `name` (str: 'W', 'U', 'V', 'b', 'c' for the one-layer
    rnn without an embedding; 'E', 'W1', 'U1', 'b1', 'bn1', ..., 'V', 'c' otherwise),
    `role` (str: 'E', 'W', 'U', 'b', 'bn', 'V' or 'c'), `layer` (int: 1..L, 0 for the
    output layer and the embedding), `shape` (tuple of int), `offset` and `size` (int:
    its place in the flat block) and `init` (str: 'normal', 'uniform', 'unit_normal',
    'zeros' or 'forget_bias').

Raises:
    ValueError: An unknown cell, or K, m or layers not in [1, 2**31).)doc";

const char* const kDropoutMaskDoc =
    R"doc(The dropout mask the core applies at one point of one update.

Masks come from a counter-based generator (SplitMix64) indexed by (seed, step, point,
entry), so any update's masks can be drawn again: a resumed run draws the same ones.

Args:
    p: Dropout probability in [0, 1).
    seed: The run's seed, in [0, 2**64).
    step: The update number, >= 0.
    point: 1..L: the output of that layer.
    B: Sequences in the batch.
    T: Time steps.
    m: Hidden units.

Returns:
    float64 array (B, T, m) of 0 and 1 / (1 - p).

Raises:
    ValueError: p outside [0, 1), a negative step, a size < 1, or a mask of 2**40
        entries or more.)doc";

}  // namespace

void bind_functions(py::module_& m) {
    m.def(
        "layout",
        [](long long K, long long m_, const std::string& cell, long long layers,
           long long embedding) {
            return layout_list(make_layout(make_spec(K, m_, cell, layers, embedding)));
        },
        py::arg("K"), py::arg("m"), py::kw_only(), py::arg("cell") = "rnn", py::arg("layers") = 1,
        py::arg("embedding") = 0, kLayoutDoc);
    m.def(
        "dropout_mask",
        [](double p, std::uint64_t seed, long long step, long long point, long long B,
           long long T_len, long long m_) {
            const Dropout d = dropout_settings(p, seed, step);
            require_positive_size(point, "point");
            require_positive_size(B, "B");
            require_positive_size(T_len, "T");
            require_positive_size(m_, "m");
            require(double(m_) * double(T_len) * double(B) < double(1LL << 40),
                    "a mask of B * T * m = " + std::to_string(double(m_) * T_len * B) +
                        " entries is too large");
            Mat<double> mask(m_, T_len * B);  // column t B + j
            dropout_mask(d, int(point), mask);
            py::array_t<double> out({py::ssize_t(B), py::ssize_t(T_len), py::ssize_t(m_)});
            double* dst = out.mutable_data();
            for (long long j = 0; j < B; ++j)
                for (long long t = 0; t < T_len; ++t)
                    std::copy_n(mask.col(t * B + j).data(), m_, dst + (j * T_len + t) * m_);
            return out;
        },
        py::arg("p"), py::arg("seed"), py::arg("step"), py::arg("point"), py::arg("B"),
        py::arg("T"), py::arg("m"), kDropoutMaskDoc);
    bind_functions_of<double>(m);
    bind_functions_of<float>(m);
}

}  // namespace charrnn::bindings
