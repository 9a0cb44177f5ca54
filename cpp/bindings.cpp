// pybind11 bindings for charrnn._core: conversions, argument names, docstrings and validation.
// No maths here: every check a user could trip (shapes, dtypes, index range, finiteness,
// sizes) happens here and raises ValueError/IndexError, so the core can trust its inputs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "optim.hpp"
#include "rnn.hpp"
#include "trainer.hpp"

namespace py = pybind11;
using namespace charrnn;

namespace {

template <typename T>
const char* dtype_name() {
    return sizeof(T) == 8 ? "float64" : "float32";
}

std::string shape_string(const py::array& a) {
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
    s << (a.ndim() == 1 ? ",)" : ")");
    return s.str();
}

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

// Sizes are stored as int in the core: a larger value would wrap (2**31 became K=-2147483648).
void require_positive_size(long long value, const char* name) {
    if (value <= 0 || value > std::numeric_limits<int>::max())
        throw std::invalid_argument(std::string(name) + " must be a positive integer below 2**31, "
                                    "got " + std::to_string(value));
}

// numpy's conversion to A (a typed array_t). Unlike A::ensure, which returns a null array and
// clears the error (then data() segfaults), this raises numpy's own exception: MemoryError when
// a contiguous copy does not fit, or a cast warning that the caller turned into an error.
template <typename A>
A convert(const py::array& any) {
    return A(py::reinterpret_borrow<py::object>(any));
}

void require_finite_positive(double value, const char* name) {
    if (!(std::isfinite(value) && value > 0))
        throw std::invalid_argument(std::string(name) + " must be a finite number > 0, got " +
                                    std::to_string(value));
}

// A real-valued array of the given dtype, C-contiguous (copied if it was not), finite.
// Complex, object and string arrays are refused rather than silently cast.
template <typename T>
py::array_t<T, py::array::c_style> as_real_array(const py::handle& obj, const char* name) {
    py::array any = py::array::ensure(obj);
    if (!any) throw std::invalid_argument(std::string(name) + " must be an array of numbers");
    const char kind = any.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
        throw std::invalid_argument(std::string(name) + " must hold real numbers, got dtype " +
                                    std::string(py::str(any.dtype())));
    auto arr = convert<py::array_t<T, py::array::c_style | py::array::forcecast>>(any);
    const T* p = arr.data();
    for (py::ssize_t i = 0; i < arr.size(); ++i)
        if (!std::isfinite(p[i]))
            throw std::invalid_argument(std::string(name) + " contains NaN or infinity at flat index " +
                                        std::to_string(i));
    return arr;
}

// Character indices: an integer array (any integer dtype), each in [0, K).
py::array_t<std::int64_t, py::array::c_style> as_index_array(const py::handle& obj, const char* name,
                                                           int K) {
    py::array any = py::array::ensure(obj);
    if (!any) throw std::invalid_argument(std::string(name) + " must be an array of integers");
    const char kind = any.dtype().kind();
    if (kind != 'i' && kind != 'u')
        throw std::invalid_argument(std::string(name) + " must be an integer array of character "
                                    "indices, got dtype " + std::string(py::str(any.dtype())));
    if (kind == 'u' && any.itemsize() == 8) {
        // uint64 values above 2^63 would wrap to negative numbers when cast: compare first.
        auto u = convert<py::array_t<std::uint64_t, py::array::c_style>>(any);
        for (py::ssize_t i = 0; i < u.size(); ++i)
            if (u.data()[i] >= std::uint64_t(K))
                throw py::index_error(std::string(name) + "[" + std::to_string(i) + "] = " +
                                      std::to_string(u.data()[i]) + " is outside [0, " +
                                      std::to_string(K) + ")");
    }
    auto arr = convert<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>(any);
    for (py::ssize_t i = 0; i < arr.size(); ++i) {
        const std::int64_t v = arr.data()[i];
        if (v < 0 || v >= K)
            throw py::index_error(std::string(name) + "[" + std::to_string(i) + "] = " +
                                  std::to_string(v) + " is outside [0, " + std::to_string(K) +
                                  "): not a character of this vocabulary");
    }
    return arr;
}

// An array the caller gave for results: written in place, so it must be exactly a writable,
// C-contiguous, 1-D float64 array (a converted copy would silently swallow the results).
double* output_buffer(const py::handle& obj, const char* name) {
    if (!py::isinstance<py::array>(obj))
        throw std::invalid_argument(std::string(name) + " must be a numpy array");
    py::array arr = py::reinterpret_borrow<py::array>(obj);
    require(arr.ndim() == 1 && arr.dtype().equal(py::dtype::of<double>()) &&
                (arr.flags() & py::array::c_style) && arr.writeable(),
            std::string(name) + " must be a writable, contiguous 1-D float64 array");
    return static_cast<double*>(arr.mutable_data());
}

// Trainer.run releases the GIL, so a second Python thread could enter run() on the same trainer
// and both would write its workspace and state (seen: lost updates and a false "diverged").
// The set of trainers inside run() is read and changed only with the GIL held.
class RunGuard {
public:
    explicit RunGuard(const void* trainer) : trainer_(trainer) {
        if (!running().insert(trainer).second)
            throw std::runtime_error("this Trainer is already running in another thread; give "
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

std::vector<std::int32_t> to_int32(const py::array_t<std::int64_t, py::array::c_style>& a) {
    return std::vector<std::int32_t>(a.data(), a.data() + a.size());
}

// A writable numpy view of rows x cols row-major values owned by `owner` (kept alive by it).
template <typename T>
py::array_t<T> view(T* data, py::ssize_t rows, py::ssize_t cols, const py::handle& owner,
                    bool vector) {
    if (vector) return py::array_t<T>({rows}, {py::ssize_t(sizeof(T))}, data, owner);
    return py::array_t<T>({rows, cols}, {py::ssize_t(sizeof(T)) * cols, py::ssize_t(sizeof(T))},
                          data, owner);
}

template <typename T>
void check_same_shape(const Params<T>& a, const Params<T>& b, const char* what) {
    if (a.K != b.K || a.m != b.m)
        throw std::invalid_argument(std::string(what) + " has K=" + std::to_string(b.K) +
                                    ", m=" + std::to_string(b.m) + " but params have K=" +
                                    std::to_string(a.K) + ", m=" + std::to_string(a.m));
}

// Sequences for forward/backward: inputs and targets (T,) or (B, T), h0 (m,) or (B, m).
template <typename T>
struct Batch {
    std::vector<std::int32_t> inputs, targets;
    int T_len = 0, B = 0;
    bool batched = false;
    Mat<T> h0;  // (m, B)
};

template <typename T>
Batch<T> make_batch(const Params<T>& params, const py::handle& inputs_obj,
                    const py::handle& targets_obj, const py::handle& h0_obj) {
    Batch<T> batch;
    auto inputs = as_index_array(inputs_obj, "inputs", params.K);
    auto targets = as_index_array(targets_obj, "targets", params.K);
    require(inputs.ndim() == 1 || inputs.ndim() == 2,
            "inputs must have shape (T,) or (B, T), got " + shape_string(inputs));
    require(targets.ndim() == inputs.ndim() && targets.size() == inputs.size() &&
                targets.shape(0) == inputs.shape(0),
            "targets must have the shape of inputs " + shape_string(inputs) + ", got " +
                shape_string(targets));
    batch.batched = inputs.ndim() == 2;
    batch.B = batch.batched ? int(inputs.shape(0)) : 1;
    batch.T_len = int(inputs.shape(inputs.ndim() - 1));
    require(batch.T_len > 0 && batch.B > 0, "inputs must hold at least one character, got shape " +
                                                shape_string(inputs));
    auto h0 = as_real_array<T>(h0_obj, "h0");
    const bool h0_ok = batch.batched
                           ? (h0.ndim() == 2 && h0.shape(0) == batch.B && h0.shape(1) == params.m)
                           : (h0.ndim() == 1 && h0.shape(0) == params.m);
    require(h0_ok, std::string("h0 must have shape ") +
                       (batch.batched ? "(B, m) = (" + std::to_string(batch.B) + ", "
                                      : "(m,) = (") +
                       std::to_string(params.m) + (batch.batched ? ")" : ",)") + ", got " +
                       shape_string(h0));
    // (B, m) row-major is (m, B) column-major: the same bytes.
    batch.h0 = Eigen::Map<const Mat<T>>(h0.data(), params.m, batch.B);
    batch.inputs = to_int32(inputs);
    batch.targets = to_int32(targets);
    return batch;
}

template <typename T>
void require_finite_params(const Params<T>& params, const char* name) {
    if (!params.flat.allFinite())
        throw std::invalid_argument(std::string(name) +
                                    " contain NaN or infinity: reinitialise or reload them");
}

template <typename T>
struct Result {
    double loss = 0;
    Params<T> grads;
    py::array_t<T> h_last, hs, probs;
};

// Activation column (t * B + j) of a (rows, (T) B) matrix -> array (T, rows) or (B, T, rows).
template <typename T>
py::array_t<T> per_step(const Eigen::Ref<const Mat<T>>& cols, int T_len, int B, bool batched) {
    const py::ssize_t rows = cols.rows();
    py::array_t<T> out = batched ? py::array_t<T>({py::ssize_t(B), py::ssize_t(T_len), rows})
                                 : py::array_t<T>({py::ssize_t(T_len), rows});
    T* dst = out.mutable_data();
    for (int j = 0; j < B; ++j)
        for (int t = 0; t < T_len; ++t)
            Eigen::Map<Vec<T>>(dst + (py::ssize_t(j) * T_len + t) * rows, rows) =
                cols.col(py::ssize_t(t) * B + j);
    return out;
}

template <typename T>
void bind_params(py::module_& m, const char* name) {
    using P = Params<T>;
    auto cls = py::class_<P>(m, name, (std::string("The five RNN parameters W (m,m), U (m,K), "
                                                    "V (K,m), b (m,), c (K,) in ") +
                                        dtype_name<T>() +
                                        ", stored in one flat block. The attributes are writable "
                                        "numpy views into that block; assigning to one copies.")
                                           .c_str());
    cls.def(py::init([](long long K, long long m_) {
                require_positive_size(K, "K (vocabulary size)");
                require_positive_size(m_, "m (hidden size)");
                return P(int(K), int(m_));
            }),
            py::arg("K"), py::arg("m"), "All-zero parameters for vocabulary size K, hidden size m.");
    cls.def_static(
        "random",
        [](long long K, long long m_, double sig, std::uint64_t seed) {
            require_positive_size(K, "K (vocabulary size)");
            require_positive_size(m_, "m (hidden size)");
            if (!(std::isfinite(sig) && sig >= 0))
                throw std::invalid_argument("sig must be a finite number >= 0, got " +
                                            std::to_string(sig));
            P p{int(K), int(m_)};
            p.init_normal(sig, seed);
            return p;
        },
        py::arg("K"), py::arg("m"), py::arg("sig") = 0.01, py::arg("seed") = 0,
        "W, U, V drawn from N(0, sig^2) with the given seed; b, c zero.");
    cls.def_readonly("K", &P::K, "vocabulary size");
    cls.def_readonly("m", &P::m, "hidden size");
    struct Field {
        const char* name;
        Eigen::Index (P::*offset)() const;
        bool rows_are_K, cols_are_K, vector;
    };
    static const Field fields[] = {{"W", &P::offset_W, false, false, false},
                                   {"U", &P::offset_U, false, true, false},
                                   {"V", &P::offset_V, true, false, false},
                                   {"b", &P::offset_b, false, false, true},
                                   {"c", &P::offset_c, true, false, true}};
    for (const Field& f : fields) {
        cls.def_property(
            f.name,
            [f](py::object self) {
                P& p = self.cast<P&>();
                const py::ssize_t rows = f.rows_are_K ? p.K : p.m;
                const py::ssize_t cols = f.cols_are_K ? p.K : p.m;
                return view<T>(p.flat.data() + (p.*f.offset)(), rows, cols, self, f.vector);
            },
            [f](P& p, const py::handle& value) {
                const py::ssize_t rows = f.rows_are_K ? p.K : p.m;
                const py::ssize_t cols = f.cols_are_K ? p.K : p.m;
                auto arr = as_real_array<T>(value, f.name);
                const bool ok = f.vector ? (arr.ndim() == 1 && arr.shape(0) == rows)
                                         : (arr.ndim() == 2 && arr.shape(0) == rows &&
                                            arr.shape(1) == cols);
                require(ok, std::string(f.name) + " must have shape (" + std::to_string(rows) +
                                (f.vector ? ",)" : ", " + std::to_string(cols) + ")") +
                                ", got " + shape_string(arr));
                std::copy(arr.data(), arr.data() + arr.size(), p.flat.data() + (p.*f.offset)());
            });
    }
    cls.def_property(
        "flat",
        [](py::object self) {
            P& p = self.cast<P&>();
            return view<T>(p.flat.data(), p.flat.size(), 1, self, true);
        },
        [](P& p, const py::handle& value) {
            auto arr = as_real_array<T>(value, "flat");
            require(arr.ndim() == 1 && arr.shape(0) == p.flat.size(),
                    "flat must have shape (" + std::to_string(p.flat.size()) + ",), got " +
                        shape_string(arr));
            std::copy(arr.data(), arr.data() + arr.size(), p.flat.data());
        },
        "All parameters as one vector, in the order W, U, V, b, c (each row-major).");
    cls.def("copy", [](const P& p) { return P(p); }, "An independent copy.");
    cls.def("__copy__", [](const P& p) { return P(p); });
    cls.def("__deepcopy__", [](const P& p, py::dict) { return P(p); }, py::arg("memo"));
    cls.def("__repr__", [name](const P& p) {
        return std::string(name) + "(K=" + std::to_string(p.K) + ", m=" + std::to_string(p.m) + ")";
    });
}

template <typename T>
void bind_functions(py::module_& m) {
    using P = Params<T>;
    py::class_<Result<T>>(m, sizeof(T) == 8 ? "Result" : "Result32",
                          "What forward_backward returns.")
        .def_readonly("loss", &Result<T>::loss, "L = -sum_t log p_t[y_t] (mean over a batch)")
        .def_readonly("grads", &Result<T>::grads, "dW, dU, dV, db, dc as a Params (unclipped)")
        .def_readonly("h_last", &Result<T>::h_last, "h_T: (m,) or (B, m)")
        .def_readonly("hs", &Result<T>::hs, "h_1 .. h_T: (T, m) or (B, T, m)")
        .def_readonly("probs", &Result<T>::probs, "p_1 .. p_T: (T, K) or (B, T, K)");

    m.def(
        "forward_backward",
        [](const P& params, const py::handle& inputs, const py::handle& targets,
           const py::handle& h0) {
            require_finite_params(params, "params");
            Batch<T> batch = make_batch(params, inputs, targets, h0);
            Result<T> r;
            Workspace<T> ws;
            r.grads = P(params.K, params.m);
            r.loss = forward<T>(params, batch.inputs.data(), batch.targets.data(), batch.T_len,
                             batch.B, batch.h0, ws);
            const Eigen::Index n = Eigen::Index(batch.T_len) * batch.B;
            r.probs = per_step<T>(ws.P, batch.T_len, batch.B, batch.batched);  // backward reuses P
            backward(params, batch.inputs.data(), batch.targets.data(), ws, r.grads);
            r.hs = per_step<T>(ws.hidden().rightCols(n), batch.T_len, batch.B, batch.batched);
            r.h_last = per_step<T>(ws.hidden().rightCols(batch.B), 1, batch.B, true);
            r.h_last = batch.batched ? r.h_last.attr("reshape")(batch.B, params.m)
                                     : r.h_last.attr("reshape")(params.m);
            return r;
        },
        py::arg("params"), py::arg("inputs"), py::arg("targets"), py::arg("h0"),
        "Forward pass and backpropagation through time on character indices inputs (T,) or "
        "(B, T) with next-character targets of the same shape, from initial hidden state h0 "
        "(m,) or (B, m). Returns a Result with loss, grads, h_last, hs and probs.");
    m.def(
        "loss",
        [](const P& params, const py::handle& inputs, const py::handle& targets,
           const py::handle& h0) {
            require_finite_params(params, "params");
            Batch<T> batch = make_batch(params, inputs, targets, h0);
            Workspace<T> ws;
            return forward<T>(params, batch.inputs.data(), batch.targets.data(), batch.T_len,
                           batch.B, batch.h0, ws);
        },
        py::arg("params"), py::arg("inputs"), py::arg("targets"), py::arg("h0"),
        "The loss of forward_backward without the backward pass (for finite differences).");
    m.def(
        "clip_gradients",
        [](P& grads, double limit) {
            require_finite_positive(limit, "limit");
            clip_gradients(grads, limit);
        },
        py::arg("grads"), py::arg("limit") = 5.0, "Clip every gradient entry to [-limit, limit], in place.");
    m.def(
        "adagrad_step",
        [](P& params, const P& grads, P& memory, double eta, double eps) {
            check_same_shape(params, grads, "grads");
            check_same_shape(params, memory, "memory");
            require_finite_positive(eta, "eta");
            require_finite_positive(eps, "eps");
            adagrad_step(params, grads, memory, eta, eps);
        },
        py::arg("params"), py::arg("grads"), py::arg("memory"), py::arg("eta") = 0.1,
        py::arg("eps") = 1e-8,
        "AdaGrad in place: memory += g^2; params -= eta g / sqrt(memory + eps).");
    m.def(
        "sample",
        [](const P& params, const py::handle& h0, const py::handle& prime, long long n,
           std::uint64_t seed, double temperature, double top_p) {
            require_finite_params(params, "params");
            auto prime_arr = as_index_array(prime, "prime", params.K);
            require(prime_arr.ndim() == 1 && prime_arr.size() > 0,
                    "prime must be a non-empty 1-D array of character indices (its last "
                    "character is the first input), got shape " + shape_string(prime_arr));
            if (n < 0) throw std::invalid_argument("n must be >= 0, got " + std::to_string(n));
            require_finite_positive(temperature, "temperature");
            require(std::isfinite(top_p) && top_p > 0 && top_p <= 1,
                    "top_p must be in (0, 1], got " + std::to_string(top_p));
            auto h0_arr = as_real_array<T>(h0, "h0");
            require(h0_arr.ndim() == 1 && h0_arr.shape(0) == params.m,
                    "h0 must have shape (m,) = (" + std::to_string(params.m) + ",), got " +
                        shape_string(h0_arr));
            Vec<T> h = Eigen::Map<const Vec<T>>(h0_arr.data(), params.m);
            std::vector<std::int32_t> prime_idx = to_int32(prime_arr);
            py::array_t<std::int32_t> out(n);
            std::int32_t* dst = out.mutable_data();
            {
                py::gil_scoped_release release;
                Vec<T> probs;
                // The priming text only moves the hidden state; its predictions are not drawn.
                for (std::size_t i = 0; i + 1 < prime_idx.size(); ++i)
                    step_probs(params, h, prime_idx[i], 1.0, probs);
                std::mt19937_64 gen(seed);
                std::uniform_real_distribution<double> uniform(0.0, 1.0);
                int x = prime_idx.back();
                for (long long i = 0; i < n; ++i) {
                    step_probs(params, h, x, temperature, probs);
                    x = draw_index(probs, uniform(gen), top_p);
                    dst[i] = x;
                }
            }
            return out;
        },
        py::arg("params"), py::arg("h0"), py::arg("prime"), py::arg("n"), py::arg("seed") = 0,
        py::arg("temperature") = 1.0, py::arg("top_p") = 1.0,
        "Generate n character indices. The network first reads prime[:-1] from h0; prime[-1] "
        "is the first input. Each next character is drawn by inverse CDF from "
        "softmax(o / temperature), restricted to the top_p nucleus. Same seed, same text.");
}

template <typename T>
void bind_trainer(py::module_& m, const char* name) {
    using Tr = Trainer<T>;
    using P = Params<T>;
    py::class_<Tr>(m, name, "The native training loop over an encoded text (see run).")
        .def(py::init([](const P& params, const py::handle& text, long long seq_length,
                         long long batch, double eta, double eps, double clip) {
                 require_finite_params(params, "params");
                 require_positive_size(seq_length, "seq_length");
                 require_positive_size(batch, "batch");
                 require_finite_positive(eta, "eta");
                 require_finite_positive(eps, "eps");
                 require_finite_positive(clip, "clip");
                 auto idx = as_index_array(text, "text", params.K);
                 require(idx.ndim() == 1, "text must be a 1-D array of character indices, got "
                                          "shape " + shape_string(idx));
                 const long long chunk = idx.size() / batch;
                 if (chunk < seq_length + 1)
                     throw std::invalid_argument(
                         "text has " + std::to_string(idx.size()) + " characters: at least " +
                         std::to_string((seq_length + 1) * batch) +
                         " are needed (batch * (seq_length + 1)); use a longer text or a "
                         "smaller seq_length");
                 TrainSettings s;
                 s.seq_length = int(seq_length);
                 s.batch = int(batch);
                 s.eta = eta;
                 s.eps = eps;
                 s.clip = clip;
                 return new Tr(params, to_int32(idx), s);
             }),
             py::arg("params"), py::arg("text"), py::arg("seq_length") = 25, py::arg("batch") = 1,
             py::arg("eta") = 0.1, py::arg("eps") = 1e-8, py::arg("clip") = 5.0)
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
                long long done = 0;
                long long chunk = 1;
                // Release the GIL for chunks of about 50 ms, checking for Ctrl-C in between.
                while (done < n) {
                    const long long this_chunk = std::min(chunk, n - done);
                    const auto start = std::chrono::steady_clock::now();
                    int ran;
                    {
                        py::gil_scoped_release release;
                        ran = tr.run(int(this_chunk), out + done, smooth_out ? smooth_out + done : nullptr);
                    }
                    done += ran;
                    if (ran < this_chunk) break;  // diverged
                    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                    const double seconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count();
                    const double per_step = seconds / double(this_chunk);
                    chunk = std::max<long long>(
                        1, std::min<long long>(1 << 20, (long long)(0.05 / std::max(per_step, 1e-9))));
                }
                return done;
            },
            py::arg("losses"), py::arg("smooth_losses") = py::none(),
            "Run len(losses) training steps, writing each step's loss (and smooth loss) into "
            "losses (and smooth_losses, if given). Returns the "
            "number of steps run: fewer only when a loss was not finite (then `diverged` is "
            "True and that step's update was not applied). Ctrl-C raises KeyboardInterrupt "
            "between steps; losses[: step - step_before] are filled in then.")
        .def_property_readonly(
            "params", [](py::object self) { return py::cast(&self.cast<Tr&>().params, py::return_value_policy::reference_internal, self); },
            "current parameters (a live view)")
        .def_property_readonly(
            "memory", [](py::object self) { return py::cast(&self.cast<Tr&>().memory, py::return_value_policy::reference_internal, self); },
            "AdaGrad memory: running sums of squared clipped gradients (a live view)")
        .def_property_readonly(
            "best", [](py::object self) { return py::cast(&self.cast<Tr&>().best, py::return_value_policy::reference_internal, self); },
            "the parameters with the lowest smooth loss so far (a live view)")
        .def_property(
            "h_prev",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                // (m, B) column-major is (B, m) row-major: the same bytes.
                return view<T>(tr.h_prev.data(), tr.h_prev.cols(), tr.h_prev.rows(), self, false);
            },
            [](Tr& tr, const py::handle& value) {
                auto arr = as_real_array<T>(value, "h_prev");
                require(arr.ndim() == 2 && arr.shape(0) == tr.h_prev.cols() &&
                            arr.shape(1) == tr.h_prev.rows(),
                        "h_prev must have shape (B, m) = (" + std::to_string(tr.h_prev.cols()) +
                            ", " + std::to_string(tr.h_prev.rows()) + "), got " + shape_string(arr));
                std::copy(arr.data(), arr.data() + arr.size(), tr.h_prev.data());
            },
            "hidden state carried into the next step, one row per stream: (B, m)")
        .def_property(
            "step", [](const Tr& tr) { return tr.step; },
            [](Tr& tr, long long v) {
                if (v < 0) throw std::invalid_argument("step must be >= 0");
                tr.step = v;
            },
            "updates done so far")
        .def_property(
            "position", [](const Tr& tr) { return tr.position; },
            [](Tr& tr, long long v) {
                if (v < 0 || v >= tr.chunk_length())
                    throw std::invalid_argument("position " + std::to_string(v) +
                                                " is outside the text");
                tr.position = v;
            },
            "e: offset of the next sequence (within each stream's chunk)")
        .def_property(
            "epoch", [](const Tr& tr) { return tr.epoch; },
            [](Tr& tr, long long v) {
                if (v < 0) throw std::invalid_argument("epoch must be >= 0");
                tr.epoch = v;
            },
            "completed passes over the text")
        .def_property(
            "smooth_loss", [](const Tr& tr) { return tr.smooth_loss; },
            [](Tr& tr, double v) { tr.smooth_loss = v; },
            "0.999 smooth + 0.001 loss; NaN before the first step")
        .def_property(
            "best_smooth_loss", [](const Tr& tr) { return tr.best_smooth_loss; },
            [](Tr& tr, double v) { tr.best_smooth_loss = v; }, "lowest smooth loss so far")
        .def_property(
            "best_step", [](const Tr& tr) { return tr.best_step; },
            [](Tr& tr, long long v) { tr.best_step = v; },
            "the step whose starting parameters are `best`")
        .def_property_readonly("diverged", [](const Tr& tr) { return tr.diverged; })
        .def_property_readonly("steps_per_epoch", &Tr::steps_per_epoch)
        .def_property_readonly("seq_length", [](const Tr& tr) { return tr.settings().seq_length; })
        .def_property_readonly("batch", [](const Tr& tr) { return tr.settings().batch; })
        .def_property_readonly("eta", [](const Tr& tr) { return tr.settings().eta; })
        .def_property_readonly("eps", [](const Tr& tr) { return tr.settings().eps; })
        .def_property_readonly("clip", [](const Tr& tr) { return tr.settings().clip; })
        .def_property_readonly("text_length", [](const Tr& tr) { return tr.text().size(); });
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "charrnn's native core: vanilla RNN forward/backward, clipping, AdaGrad, sampling "
              "and the training loop, in C++ with Eigen. Private: use the `charrnn` package.";
    bind_params<double>(m, "Params");
    bind_params<float>(m, "Params32");
    bind_functions<double>(m);
    bind_functions<float>(m);
    bind_trainer<double>(m, "Trainer");
    bind_trainer<float>(m, "Trainer32");
    m.attr("EIGEN_VERSION") = std::to_string(EIGEN_WORLD_VERSION) + "." +
                              std::to_string(EIGEN_MAJOR_VERSION) + "." +
                              std::to_string(EIGEN_MINOR_VERSION);
    m.attr("SIMD") = std::string(Eigen::SimdInstructionSetsInUse());
    m.attr("ARCH") = CHARRNN_ARCH_NAME;  // the -march level the core was built for (cmake/arch.cmake)
}
