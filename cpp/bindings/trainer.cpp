// Trainer and Trainer32: the native training loop (train/trainer.hpp) for Python, one class per
// dtype from one template, so the two cannot drift. Checks, names and docstrings; no maths.
#include <set>
#include <stdexcept>
#include <string>

#include "bindings/bindings.hpp"
#include "bindings/chunks.hpp"
#include "bindings/convert.hpp"
#include "train/trainer.hpp"

namespace charrnn::bindings {

namespace {

// Trainer.run releases the GIL, so a second Python thread could enter run() on the same trainer
// and both would write its workspace and state (seen: lost updates and a false "diverged").
// The set of trainers inside run() is read and changed only with the GIL held.
class RunGuard {
public:
    explicit RunGuard(const void* trainer) : trainer_(trainer) {
        if (!running().insert(trainer).second)
            throw std::runtime_error(
                "this Trainer is already running in another thread; give "
                "each thread its own Trainer");
    }
    ~RunGuard() { running().erase(trainer_); }
    RunGuard(const RunGuard&) = delete;
    RunGuard& operator=(const RunGuard&) = delete;

private:
    static std::set<const void*>& running() {
        static std::set<const void*> trainers;
        return trainers;
    }
    const void* trainer_;
};

template <typename T>
py::object state_view(py::object self, Mat<T>& s, int L) {
    if (s.cols() == 0) return py::none();
    const py::ssize_t B = s.cols() / L, m = s.rows();
    return py::array_t<T>(
        {py::ssize_t(L), B, m},
        {py::ssize_t(sizeof(T)) * B * m, py::ssize_t(sizeof(T)) * m, py::ssize_t(sizeof(T))},
        s.data(), self);
}

template <typename T>
void set_state(Mat<T>& s, int L, const py::handle& value, const char* name) {
    auto arr = as_real_array<T>(value, name);
    const py::ssize_t B = s.cols() / L;
    require(s.cols() > 0, std::string(name) + ": this model has no such state");
    require(arr.ndim() == 3 && arr.shape(0) == L && arr.shape(1) == B && arr.shape(2) == s.rows(),
            std::string(name) + " must have shape (L, B, m) = (" + std::to_string(L) + ", " +
                std::to_string(B) + ", " + std::to_string(s.rows()) + "), got " +
                shape_string(arr));
    std::copy(arr.data(), arr.data() + arr.size(), s.data());
}

template <typename T>
void bind_trainer_of(py::module_& m, const char* name) {
    using Tr = Trainer<T>;
    using P = Params<T>;
    const std::string P_name = params_name<T>();
    const std::string doc = std::string("The native training loop over an encoded text, in ") +
                            dtype_name<T>() + " on " + P_name + R"doc( (see run).

Each update reads seq_length characters of each of `batch` streams (at evenly spaced
offsets of the text), runs forward and backward, clips and applies the optimiser, carries
the state into the next update and keeps the smooth loss (0.999 smooth + 0.001 loss) and
the parameters with the lowest smooth loss so far (`best`). When fewer than seq_length + 1
characters remain, a new epoch starts from offset 0 with a zero state.
charrnn.Trainer wraps it; use that unless you need the loop alone.)doc";
    const std::string init_doc =
        std::string(R"doc(A loop that trains `params` in place on an encoded text.

Args:
    params: The model ()doc") +
        P_name + R"doc(), trained in place (and copied into `best`).
    text: Character indices, integer, 1-D; at least batch * (seq_length + 1).
    seq_length: Characters per update per stream (T).
    batch: Streams per update (B), each at its own offset.
    eta: Learning rate.
    eps: The optimiser's epsilon (inside the square root for adagrad).
    clip: Gradients are clipped elementwise to [-clip, clip] ...
    optimizer: 'adagrad', 'rmsprop' (decay) or 'adam' (beta1, beta2).
    clip_norm: ... or, if > 0, by their global L2 norm to clip_norm (clip is then unused).
    decay: RMSprop's decay in [0, 1).
    beta1: Adam's first-moment decay in [0, 1).
    beta2: Adam's second-moment decay in [0, 1).
    dropout: Probability in [0, 1) of dropping each unit of each layer's output.
    dropout_seed: Update `step` uses the masks of (dropout_seed, step).
    targets: With end, text is a documents layout made for windows of seq_length
        (charrnn.data.document_streams): targets[i] (-1: none) is predicted after text[i].
    end: The documents layout's end-of-document symbol: a stream's state is zeroed at
        each window that begins with it.
    threads: Threads running the steps, 1 to 256 (the results are the same for any
        number; settable between runs).
    debias_best: `best` follows the smooth loss with its start-up bias removed,
        (smooth - 0.999^n l_1) / (1 - 0.999^n) after n updates (l_1 the first loss),
        instead of the smooth loss itself (the assignment's choice).

Raises:
    IndexError: An index outside [0, K) (a target outside [-1, K)).
    ValueError: Too short a text, an unknown optimizer, a setting out of range, a
        documents layout that does not fit seq_length, or params with NaN/infinity.)doc";
    const std::string state_doc =
        "The live " + P_name + R"doc( of one optimiser state (name in state_names).

Write into its flat to restore a checkpoint: params, these states and step restored
into a fresh Trainer continue bit for bit (Adam's t is step + 1 at each update).

Raises:
    ValueError: A name that is not one of state_names.)doc";
    py::class_<Tr>(m, name, doc.c_str())
        .def(py::init([](const P& params, const py::handle& text, long long seq_length,
                         long long batch, double eta, double eps, double clip,
                         const std::string& optimizer, double clip_norm, double decay, double beta1,
                         double beta2, double dropout, std::uint64_t dropout_seed,
                         const py::handle& targets, long long end, long long threads,
                         bool debias_best) {
                 require_finite_params(params, "params");
                 dropout_settings(dropout, dropout_seed, 0);
                 require_positive_size(seq_length, "seq_length");
                 const OptimSettings optim =
                     optim_settings(optimizer, eta, eps, clip, clip_norm, decay, beta1, beta2);
                 Streams streams = make_streams(text, targets, end, batch, seq_length, params.K());
                 if (streams.windows(int(seq_length)) < 1)
                     throw std::invalid_argument(
                         "text has " + std::to_string(streams.text.size()) +
                         " characters: at "
                         "least " +
                         std::to_string((seq_length + !streams.documents()) * batch) +
                         " are needed (batch * (seq_length + 1)); use a longer text or a "
                         "smaller seq_length");
                 TrainSettings s;
                 s.seq_length = int(seq_length);
                 s.optim = optim;
                 s.dropout = dropout;
                 s.dropout_seed = dropout_seed;
                 s.threads = thread_count(threads);
                 s.debias_best = debias_best;
                 return new Tr(params, std::move(streams), s);
             }),
             py::arg("params"), py::arg("text"), py::arg("seq_length") = 25, py::arg("batch") = 1,
             py::arg("eta") = 0.1, py::arg("eps") = 1e-8, py::arg("clip") = 5.0,
             py::arg("optimizer") = "adagrad", py::arg("clip_norm") = 0.0, py::arg("decay") = 0.95,
             py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("dropout") = 0.0,
             py::arg("dropout_seed") = 0, py::arg("targets") = py::none(), py::arg("end") = -1,
             py::arg("threads") = 1, py::arg("debias_best") = false, init_doc.c_str())
        .def(
            "run",
            [](Tr& tr, const py::handle& losses, const py::handle& smooth_losses) {
                double* out = output_buffer(losses, "losses");
                const long long n = py::len(losses);
                double* smooth_out = nullptr;
                if (!smooth_losses.is_none()) {
                    smooth_out = output_buffer(smooth_losses, "smooth_losses");
                    require(py::len(smooth_losses) == size_t(n),
                            "smooth_losses must be as long as losses");
                }
                RunGuard guard(&tr);
                // Chunks of about 50 ms; a chunk that runs short has diverged.
                return run_in_chunks(n, 1, true, [&](long long at, long long k) -> long long {
                    return tr.run(int(k), out + at, smooth_out ? smooth_out + at : nullptr);
                });
            },
            py::arg("losses"), py::arg("smooth_losses") = py::none(),
            R"doc(Run len(losses) updates, writing each update's loss (and smooth loss) in place.

The GIL is released for chunks of updates of about 50 ms; Ctrl-C raises KeyboardInterrupt
between chunks, with losses[:step - step_before] filled in.

Args:
    losses: Writable, contiguous, 1-D float64 array, one entry per update.
    smooth_losses: None, or an array like losses, as long.

Returns:
    The number of updates run: fewer than len(losses) only when a loss was not finite
    (then `diverged` is True and that update was not applied).

Raises:
    ValueError: An output array that is not writable, contiguous, 1-D float64, or of
        another length.
    RuntimeError: The trainer is already running in another thread.)doc")
        .def_property_readonly(
            "params",
            [](py::object self) {
                return py::cast(&self.cast<Tr&>().params,
                                py::return_value_policy::reference_internal, self);
            },
            "Current parameters (a live view).")
        .def_property_readonly(
            "memory",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                if (tr.settings().optim.optimizer == Optimizer::adam)
                    throw py::attribute_error(
                        "an adam trainer has no `memory`: its state is "
                        "state('m') and state('v')");
                return py::cast(&tr.optim_state.memory, py::return_value_policy::reference_internal,
                                self);
            },
            "adagrad: the running sums of squared clipped gradients; rmsprop: their running\n"
            "mean (a live view; state('memory')). AttributeError for adam: use state('m'),\n"
            "state('v').")
        .def_property_readonly(
            "optimizer",
            [](const Tr& tr) { return std::string(optimizer_name(tr.settings().optim.optimizer)); },
            "'adagrad', 'rmsprop' or 'adam'.")
        .def_property_readonly(
            "state_names",
            [](const Tr& tr) {
                if (tr.settings().optim.optimizer == Optimizer::adam)
                    return py::tuple(py::make_tuple("m", "v"));
                return py::tuple(py::make_tuple("memory"));
            },
            "The optimiser's state arrays, for state(name): ('memory',) for adagrad and\n"
            "rmsprop, ('m', 'v') for adam.")
        .def(
            "state",
            [](py::object self, const std::string& name) {
                Tr& tr = self.cast<Tr&>();
                const bool adam = tr.settings().optim.optimizer == Optimizer::adam;
                P* p = nullptr;
                if (adam && name == "m") p = &tr.optim_state.m;
                if (adam && name == "v") p = &tr.optim_state.v;
                if (!adam && name == "memory") p = &tr.optim_state.memory;
                if (!p)
                    throw std::invalid_argument("'" + name + "' is not a state of " +
                                                optimizer_name(tr.settings().optim.optimizer) +
                                                ": its states are " +
                                                (adam ? "'m' and 'v'" : "'memory'"));
                return py::cast(p, py::return_value_policy::reference_internal, self);
            },
            py::arg("name"), state_doc.c_str())
        .def_property_readonly(
            "best",
            [](py::object self) {
                return py::cast(&self.cast<Tr&>().best, py::return_value_policy::reference_internal,
                                self);
            },
            "The parameters with the lowest smooth loss so far (a live view).")
        .def_property(
            "h_prev",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                return state_view<T>(self, tr.state.h, tr.params.spec().layers);
            },
            [](Tr& tr, const py::handle& value) {
                set_state<T>(tr.state.h, tr.params.spec().layers, value, "h_prev");
            },
            "Hidden state of every layer carried into the next update, (L, B, m); settable.")
        .def_property(
            "c_prev",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                return state_view<T>(self, tr.state.c, tr.params.spec().layers);
            },
            [](Tr& tr, const py::handle& value) {
                set_state<T>(tr.state.c, tr.params.spec().layers, value, "c_prev");
            },
            "lstm: cell state carried into the next update, (L, B, m); None for other cells.")
        .def_property(
            "step", [](const Tr& tr) { return tr.step; },
            [](Tr& tr, long long v) {
                if (v < 0) throw std::invalid_argument("step must be >= 0");
                tr.step = v;
            },
            "Updates done so far (settable, >= 0).")
        .def_property(
            "position", [](const Tr& tr) { return tr.position; },
            [](Tr& tr, long long v) {
                if (v < 0 || v >= tr.stream_length())
                    throw std::invalid_argument("position " + std::to_string(v) +
                                                " is outside the text");
                tr.position = v;
            },
            "Offset e of the next sequence within each stream (settable).")
        .def_property(
            "epoch", [](const Tr& tr) { return tr.epoch; },
            [](Tr& tr, long long v) {
                if (v < 0) throw std::invalid_argument("epoch must be >= 0");
                tr.epoch = v;
            },
            "Completed passes over the text (settable, >= 0).")
        .def_property(
            "smooth_loss", [](const Tr& tr) { return tr.smooth_loss; },
            [](Tr& tr, double v) { tr.smooth_loss = v; },
            "0.999 smooth + 0.001 loss; NaN before the first update.")
        .def_property(
            "first_loss", [](const Tr& tr) { return tr.first_loss; },
            [](Tr& tr, double v) { tr.first_loss = v; },
            "The loss of the first update (l_1, settable); NaN before it.")
        .def_property(
            "best_smooth_loss", [](const Tr& tr) { return tr.best_smooth_loss; },
            [](Tr& tr, double v) { tr.best_smooth_loss = v; },
            "The lowest smooth loss so far (with debias_best, the lowest debiased one).")
        .def_property_readonly(
            "debias_best", [](const Tr& tr) { return tr.settings().debias_best; },
            "Whether `best` follows the smooth loss with its start-up bias removed.")
        .def_property(
            "best_step", [](const Tr& tr) { return tr.best_step; },
            [](Tr& tr, long long v) { tr.best_step = v; },
            "The update whose starting parameters are `best`.")
        .def_property_readonly(
            "diverged", [](const Tr& tr) { return tr.diverged; },
            "Whether a loss was NaN or infinite (that update was not applied).")
        .def_property_readonly("steps_per_epoch", &Tr::steps_per_epoch,
                               "Updates per pass over the text.")
        .def_property_readonly(
            "seq_length", [](const Tr& tr) { return tr.settings().seq_length; },
            "Characters per stream per update (T).")
        .def_property_readonly("batch", &Tr::batch, "Streams per update (B).")
        .def_property_readonly(
            "documents", [](const Tr& tr) { return tr.streams().documents(); },
            "Whether the text is a documents layout.")
        .def_property(
            "eta", [](const Tr& tr) { return tr.settings().optim.eta; },
            [](Tr& tr, double v) {
                require_finite_positive(v, "eta");
                tr.set_eta(v);
            },
            "Learning rate; may be set between runs (a schedule). ValueError unless it is\n"
            "finite and positive.")
        .def_property_readonly(
            "eps", [](const Tr& tr) { return tr.settings().optim.eps; }, "The optimiser's epsilon.")
        .def_property_readonly(
            "clip", [](const Tr& tr) { return tr.settings().optim.clip; },
            "Elementwise clipping limit (unused when clip_norm > 0).")
        .def_property_readonly(
            "clip_norm", [](const Tr& tr) { return tr.settings().optim.clip_norm; },
            "If > 0, gradients are clipped by their global L2 norm to this; 0: elementwise, to "
            "clip.")
        .def_property_readonly(
            "decay", [](const Tr& tr) { return tr.settings().optim.decay; }, "RMSprop's decay.")
        .def_property_readonly(
            "beta1", [](const Tr& tr) { return tr.settings().optim.beta1; },
            "Adam's first-moment decay.")
        .def_property_readonly(
            "beta2", [](const Tr& tr) { return tr.settings().optim.beta2; },
            "Adam's second-moment decay.")
        .def_property(
            "threads", [](const Tr& tr) { return tr.settings().threads; },
            [](Tr& tr, long long v) { tr.set_threads(thread_count(v)); },
            "Threads running the steps; may be set between runs (the results do not depend on\n"
            "it).")
        .def_property_readonly(
            "dropout", [](const Tr& tr) { return tr.settings().dropout; },
            "Dropout probability on each layer's output.")
        .def_property_readonly(
            "dropout_seed", [](const Tr& tr) { return tr.settings().dropout_seed; },
            "Seed of the dropout masks; update `step` uses the masks of (dropout_seed, step).")
        .def_property_readonly(
            "text_length", [](const Tr& tr) { return tr.streams().text.size(); },
            "Characters (indices) in the text the loop reads.");
}

}  // namespace

void bind_trainer(py::module_& m) {
    bind_trainer_of<double>(m, "Trainer");
    bind_trainer_of<float>(m, "Trainer32");
}

}  // namespace charrnn::bindings
