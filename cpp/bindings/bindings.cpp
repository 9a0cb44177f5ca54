// pybind11 bindings for charrnn._core: conversions, argument names, docstrings and validation.
// No maths here: every check a user could trip (shapes, dtypes, index range, finiteness,
// sizes) happens here and raises ValueError/IndexError, so the core can trust its inputs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/floating.hpp"
#include "core/layout.hpp"
#include "model/model.hpp"
#include "optim/optim.hpp"
#include "train/evaluate.hpp"
#include "train/sample.hpp"
#include "train/trainer.hpp"

namespace py = pybind11;
using namespace charrnn;

void bind_inspect(py::module_& m);  // inspect.cpp

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
        throw std::invalid_argument(std::string(name) +
                                    " must be a positive integer below 2**31, "
                                    "got " +
                                    std::to_string(value));
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

// A decay rate (RMSprop's decay, Adam's betas): 1 would freeze the average (and make Adam's
// bias correction divide by zero).
void require_unit_interval(double value, const char* name) {
    if (!(value >= 0 && value < 1))
        throw std::invalid_argument(std::string(name) + " must be in [0, 1), got " +
                                    std::to_string(value));
}

// A thread count: 1 up to kMaxThreads (each is an OS thread, started at once).
constexpr long long kMaxThreads = 256;
int thread_count(long long threads) {
    if (threads < 1 || threads > kMaxThreads)
        throw std::invalid_argument("threads must be a whole number from 1 to " +
                                    std::to_string(kMaxThreads) + ", got " +
                                    std::to_string(threads));
    return int(threads);
}

// A dropout probability: 0 (off) up to, not including, 1 (1 would drop every unit).
Dropout dropout_settings(double p, std::uint64_t seed, long long step) {
    if (!(p >= 0 && p < 1))
        throw std::invalid_argument("dropout must be a probability in [0, 1), got " +
                                    std::to_string(p));
    if (step < 0)
        throw std::invalid_argument("dropout_step must be >= 0, got " + std::to_string(step));
    return Dropout{p, seed, step};
}

// The optimiser settings of a trainer (or of _clip_update_step), validated.
OptimSettings optim_settings(const std::string& optimizer, double eta, double eps, double clip,
                             double clip_norm, double decay, double beta1, double beta2) {
    OptimSettings s;
    s.optimizer = parse_optimizer(optimizer);
    require_finite_positive(eta, "eta");
    require_finite_positive(eps, "eps");
    require_finite_positive(clip, "clip");
    if (!(std::isfinite(clip_norm) && clip_norm >= 0))
        throw std::invalid_argument(
            "clip_norm must be a finite number >= 0 (0: clip elementwise "
            "to clip instead), got " +
            std::to_string(clip_norm));
    require_unit_interval(decay, "decay");
    require_unit_interval(beta1, "beta1");
    require_unit_interval(beta2, "beta2");
    s.eta = eta;
    s.eps = eps;
    s.clip = clip;
    s.clip_norm = clip_norm;
    s.decay = decay;
    s.beta1 = beta1;
    s.beta2 = beta2;
    return s;
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
            throw std::invalid_argument(
                std::string(name) + " contains NaN or infinity at flat index " + std::to_string(i));
    return arr;
}

// Character indices: an integer array (any integer dtype), each in [0, K), or -1 too if `none`
// (a target that predicts nothing).
py::array_t<std::int64_t, py::array::c_style> as_index_array(const py::handle& obj,
                                                             const char* name, int K,
                                                             bool none = false) {
    py::array any = py::array::ensure(obj);
    if (!any) throw std::invalid_argument(std::string(name) + " must be an array of integers");
    const char kind = any.dtype().kind();
    if (kind != 'i' && kind != 'u')
        throw std::invalid_argument(std::string(name) +
                                    " must be an integer array of character "
                                    "indices, got dtype " +
                                    std::string(py::str(any.dtype())));
    if (kind == 'u' && any.itemsize() == 8) {
        // uint64 values above 2^63 would wrap to negative numbers when cast: compare first.
        auto u = convert<py::array_t<std::uint64_t, py::array::c_style>>(any);
        for (py::ssize_t i = 0; i < u.size(); ++i)
            if (u.data()[i] >= std::uint64_t(K))
                throw py::index_error(std::string(name) + "[" + std::to_string(i) +
                                      "] = " + std::to_string(u.data()[i]) + " is outside [0, " +
                                      std::to_string(K) + ")");
    }
    auto arr = convert<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>(any);
    for (py::ssize_t i = 0; i < arr.size(); ++i) {
        const std::int64_t v = arr.data()[i];
        if (v < (none ? -1 : 0) || v >= K)
            throw py::index_error(std::string(name) + "[" + std::to_string(i) + "] = " +
                                  std::to_string(v) + " is outside [" + (none ? "-1" : "0") + ", " +
                                  std::to_string(K) + "): not a character of this " + "vocabulary" +
                                  (none ? " (or -1: no prediction)" : ""));
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

ModelSpec make_spec(long long K, long long m_, const std::string& cell, long long layers,
                    long long embedding) {
    require_positive_size(K, "K (vocabulary size)");
    require_positive_size(m_, "m (hidden size)");
    require_positive_size(layers, "layers");
    if (embedding != 0) require_positive_size(embedding, "embedding (0: none)");
    return {parse_cell(cell), int(K), int(m_), int(layers), int(embedding)};
}

py::list layout_list(const Layout& layout) {
    py::list out;
    for (const Entry& e : layout.entries) {
        py::dict d;
        d["name"] = e.name;
        d["role"] = role_name(e.role);
        d["layer"] = e.layer;
        d["shape"] = e.vector ? py::tuple(py::make_tuple(e.rows))
                              : py::tuple(py::make_tuple(e.rows, e.cols));
        d["offset"] = e.offset;
        d["size"] = e.size();
        d["init"] = init_name(e.init);
        out.append(d);
    }
    return out;
}

py::dict spec_dict(const ModelSpec& s) {
    py::dict d;
    d["cell"] = cell_name(s.cell);
    d["K"] = s.K;
    d["m"] = s.m;
    d["layers"] = s.layers;
    d["embedding"] = s.embedding;
    return d;
}

std::string spec_string(const ModelSpec& s) {
    return std::string("cell=") + cell_name(s.cell) + ", K=" + std::to_string(s.K) +
           ", m=" + std::to_string(s.m) + ", layers=" + std::to_string(s.layers) +
           (s.embedding ? ", embedding=" + std::to_string(s.embedding) : std::string());
}

template <typename T>
void check_same_layout(const Params<T>& a, const Params<T>& b, const char* what) {
    if (a.spec() != b.spec())
        throw std::invalid_argument(std::string(what) + " are for a model with " +
                                    spec_string(b.spec()) + ", but params have " +
                                    spec_string(a.spec()));
}

template <typename T>
void require_finite_params(const Params<T>& params, const char* name) {
    if (!params.flat.allFinite())
        throw std::invalid_argument(std::string(name) +
                                    " contain NaN or infinity: reinitialise or reload them");
}

template <typename T>
const Entry& entry_named(const Params<T>& p, const std::string& name) {
    const Entry* e = p.layout->find(name);
    if (!e) {
        std::string names;
        for (const Entry& x : p.layout->entries) names += (names.empty() ? "" : ", ") + x.name;
        throw py::key_error("'" + name + "' is not a parameter of this " +
                            cell_name(p.spec().cell) + " model (its arrays: " + names + ")");
    }
    return *e;
}

std::string shape_of(const Entry& e) {
    return e.vector ? "(" + std::to_string(e.rows) + ",)"
                    : "(" + std::to_string(e.rows) + ", " + std::to_string(e.cols) + ")";
}

template <typename T>
void assign_entry(Params<T>& p, const Entry& e, const py::handle& value) {
    auto arr = as_real_array<T>(value, e.name.c_str());
    const bool ok = e.vector
                        ? (arr.ndim() == 1 && arr.shape(0) == e.rows)
                        : (arr.ndim() == 2 && arr.shape(0) == e.rows && arr.shape(1) == e.cols);
    require(ok, e.name + " must have shape " + shape_of(e) + ", got " + shape_string(arr));
    std::copy(arr.data(), arr.data() + arr.size(), p.flat.data() + e.offset);
}

template <typename T>
py::array_t<T> entry_view(py::object self, const Entry& e) {
    Params<T>& p = self.cast<Params<T>&>();
    return view<T>(p.flat.data() + e.offset, e.rows, e.cols, self, e.vector);
}

// The state (h or c) of every layer for B sequences, from an array with a leading layer axis,
// (L, m) or (L, B, m), or, for a one-layer model, without it, (m,) or (B, m). None: zeros.
// (L, B, m) row-major is (m, L B) column-major: the same bytes.
template <typename T>
void read_state(const ModelSpec& spec, const py::handle& obj, const char* name, int B, bool batched,
                Mat<T>& out, bool& layer_axis) {
    if (obj.is_none()) return;
    auto arr = as_real_array<T>(obj, name);
    const py::ssize_t L = spec.layers, m = spec.m;
    const bool with_axis =
        batched ? (arr.ndim() == 3 && arr.shape(0) == L && arr.shape(1) == B && arr.shape(2) == m)
                : (arr.ndim() == 2 && arr.shape(0) == L && arr.shape(1) == m);
    const bool without =
        L == 1 && (batched ? (arr.ndim() == 2 && arr.shape(0) == B && arr.shape(1) == m)
                           : (arr.ndim() == 1 && arr.shape(0) == m));
    if (!with_axis && !without) {
        const std::string Bs = std::to_string(B), ms = std::to_string(m), Ls = std::to_string(L);
        std::string expected = batched ? "(L, B, m) = (" + Ls + ", " + Bs + ", " + ms + ")"
                                       : "(L, m) = (" + Ls + ", " + ms + ")";
        if (L == 1)
            expected +=
                batched ? " or (B, m) = (" + Bs + ", " + ms + ")" : " or (m,) = (" + ms + ",)";
        throw std::invalid_argument(std::string(name) + " must have shape " + expected + ", got " +
                                    shape_string(arr));
    }
    layer_axis = with_axis;
    out = Eigen::Map<const Mat<T>>(arr.data(), m, L * B);
}

// Sequences for forward/backward: inputs and targets (T,) or (B, T), initial state h0 (and c0).
template <typename T>
struct Batch {
    std::vector<std::int32_t> inputs, targets;
    int T_len = 0, B = 0;
    bool batched = false;
    bool layer_axis = false;  // the state arrays carry a leading layer axis (outputs follow)
    State<T> state;
};

template <typename T>
Batch<T> make_batch(const Params<T>& params, const py::handle& inputs_obj,
                    const py::handle& targets_obj, const py::handle& h0_obj,
                    const py::handle& c0_obj) {
    const ModelSpec& spec = params.spec();
    Batch<T> batch;
    auto inputs = as_index_array(inputs_obj, "inputs", spec.K);
    auto targets = as_index_array(targets_obj, "targets", spec.K, true);
    require(inputs.ndim() == 1 || inputs.ndim() == 2,
            "inputs must have shape (T,) or (B, T), got " + shape_string(inputs));
    require(targets.ndim() == inputs.ndim() && targets.size() == inputs.size() &&
                targets.shape(0) == inputs.shape(0),
            "targets must have the shape of inputs " + shape_string(inputs) + ", got " +
                shape_string(targets));
    batch.batched = inputs.ndim() == 2;
    batch.B = batch.batched ? int(inputs.shape(0)) : 1;
    batch.T_len = int(inputs.shape(inputs.ndim() - 1));
    require(batch.T_len > 0 && batch.B > 0,
            "inputs must hold at least one character, got shape " + shape_string(inputs));
    if (!c0_obj.is_none() && spec.cell != Cell::lstm)
        throw std::invalid_argument(std::string("c0 is the cell state of an lstm; this ") +
                                    cell_name(spec.cell) + " model has none (pass c0=None)");
    batch.state = State<T>(spec, batch.B);
    batch.layer_axis = spec.layers > 1;
    read_state<T>(spec, h0_obj, "h0", batch.B, batch.batched, batch.state.h, batch.layer_axis);
    bool c_axis = batch.layer_axis;
    read_state<T>(spec, c0_obj, "c0", batch.B, batch.batched, batch.state.c, c_axis);
    batch.inputs = to_int32(inputs);
    batch.targets = to_int32(targets);
    return batch;
}

// Activation column (t B + j) of each layer's (m, T B) block -> array (T, m) or (B, T, m), with a
// leading layer axis (L, ...) if layer_axis.
template <typename T, typename GetCols>
py::array_t<T> per_step(GetCols cols_of, int L, Eigen::Index rows, int T_len, int B, bool batched,
                        bool layer_axis) {
    std::vector<py::ssize_t> shape;
    if (layer_axis) shape.push_back(L);
    if (batched) shape.push_back(B);
    shape.push_back(T_len);
    shape.push_back(rows);
    py::array_t<T> out(shape);
    T* dst = out.mutable_data();
    for (int l = 0; l < L; ++l) {
        const auto cols = cols_of(l);
        for (int j = 0; j < B; ++j)
            for (int t = 0; t < T_len; ++t)
                Eigen::Map<Vec<T>>(dst + ((py::ssize_t(l) * B + j) * T_len + t) * rows, rows) =
                    cols.col(py::ssize_t(t) * B + j);
    }
    return out;
}

// A state (m, L B) as an array shaped like the caller's: (L, B, m), (L, m), (B, m) or (m,).
template <typename T>
py::array_t<T> state_array(const Mat<T>& s, int L, int B, bool batched, bool layer_axis) {
    std::vector<py::ssize_t> shape;
    if (layer_axis) shape.push_back(L);
    if (batched) shape.push_back(B);
    shape.push_back(s.rows());
    py::array_t<T> out(shape);
    std::copy(s.data(), s.data() + s.size(), out.mutable_data());
    return out;
}

template <typename T>
struct Result {
    double loss = 0;
    Params<T> grads;
    py::object h_last = py::none(), c_last = py::none(), hs = py::none(), cs = py::none(),
               probs = py::none();
};

template <typename T>
void bind_params(py::module_& m, const char* name) {
    using P = Params<T>;
    auto cls = py::class_<P>(
        m, name,
        (std::string("The parameters of one model in ") + dtype_name<T>() +
         ", stored in one flat block in the order of its layout (see layout()). Each array is a "
         "writable numpy view into that block, by name: p['W1'] or p.W1 (the one-layer vanilla "
         "RNN's are W, U, V, b, c); assigning to one copies.")
            .c_str());
    cls.def(
        py::init([](long long K, long long m_, const std::string& cell, long long layers,
                    long long embedding) { return P(make_spec(K, m_, cell, layers, embedding)); }),
        py::arg("K"), py::arg("m"), py::arg("cell") = "rnn", py::arg("layers") = 1, py::kw_only(),
        py::arg("embedding") = 0,
        "All-zero parameters for vocabulary size K, hidden size m, the cell ('rnn', 'lstm' "
        "or 'gru'), the number of layers and the embedding's width (0: none).");
    cls.def_static(
        "random",
        [](long long K, long long m_, double sig, std::uint64_t seed, const std::string& cell,
           long long layers, long long embedding, double forget_bias) {
            P p(make_spec(K, m_, cell, layers, embedding));
            if (!(std::isfinite(sig) && sig >= 0))
                throw std::invalid_argument("sig must be a finite number >= 0, got " +
                                            std::to_string(sig));
            if (!std::isfinite(forget_bias))
                throw std::invalid_argument("forget_bias must be a finite number, got " +
                                            std::to_string(forget_bias));
            p.init(sig, seed, forget_bias);
            return p;
        },
        py::arg("K"), py::arg("m"), py::arg("sig") = 0.01, py::arg("seed") = 0,
        py::arg("cell") = "rnn", py::arg("layers") = 1, py::kw_only(), py::arg("embedding") = 0,
        py::arg("forget_bias") = 1.0,
        "Each array drawn by its layout's init in block order from one generator seeded with "
        "seed: rnn weights N(0, sig^2), lstm and gru weights U(-1/sqrt(m), 1/sqrt(m)), biases "
        "zero but an lstm's forget-gate bias forget_bias, an embedding N(0, 1).");
    cls.def_property_readonly("K", &P::K, "vocabulary size");
    cls.def_property_readonly("m", &P::m, "hidden units per layer");
    cls.def_property_readonly(
        "cell", [](const P& p) { return std::string(cell_name(p.spec().cell)); },
        "'rnn', 'lstm' or 'gru'");
    cls.def_property_readonly(
        "layers", [](const P& p) { return p.spec().layers; }, "number of layers");
    cls.def_property_readonly(
        "spec", [](const P& p) { return spec_dict(p.spec()); },
        "{'cell', 'K', 'm', 'layers', 'embedding'}");
    cls.def_property_readonly(
        "layout", [](const P& p) { return layout_list(*p.layout); },
        "the layout: one dict per array (see layout())");
    cls.def_property_readonly(
        "names",
        [](const P& p) {
            py::list names;
            for (const Entry& e : p.layout->entries) names.append(e.name);
            return py::tuple(names);
        },
        "the array names in block order");
    cls.def("__getitem__", [](py::object self, const std::string& key) {
        return entry_view<T>(self, entry_named(self.cast<P&>(), key));
    });
    cls.def("__setitem__", [](P& p, const std::string& key, const py::handle& value) {
        assign_entry(p, entry_named(p, key), value);
    });
    cls.def("__contains__",
            [](const P& p, const std::string& key) { return p.layout->find(key) != nullptr; });
    cls.def("__len__", [](const P& p) { return p.layout->entries.size(); });
    cls.def(
        "__iter__", [](py::object self) { return py::iter(self.attr("names")); },
        "the array names in block order, as a mapping's keys");
    cls.def("keys", [](py::object self) { return self.attr("names"); }, "the array names");
    cls.def(
        "items",
        [](py::object self) {
            py::list out;
            for (const Entry& e : self.cast<P&>().layout->entries)
                out.append(py::make_tuple(e.name, entry_view<T>(self, e)));
            return out;
        },
        "(name, view) pairs in block order");
    cls.def("__getattr__", [](py::object self, const std::string& key) {
        const Entry* e = self.cast<P&>().layout->find(key);
        if (!e) {
            std::string names;
            for (const Entry& x : self.cast<P&>().layout->entries)
                names += (names.empty() ? "" : ", ") + x.name;
            throw py::attribute_error(
                "'" + std::string(py::str(py::type::of(self).attr("__name__"))) +
                "' object has no attribute '" + key + "' (its arrays: " + names + ")");
        }
        return entry_view<T>(self, *e);
    });
    cls.def("__setattr__", [](py::object self, const std::string& key, const py::handle& value) {
        P& p = self.cast<P&>();
        if (const Entry* e = p.layout->find(key)) return assign_entry(p, *e, value);
        py::module_::import("builtins").attr("object").attr("__setattr__")(self, key, value);
    });
    cls.def("__dir__", [](py::object self) {
        py::list names = py::module_::import("builtins").attr("object").attr("__dir__")(self);
        for (const Entry& e : self.cast<P&>().layout->entries) names.append(e.name);
        return names;
    });
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
        "All parameters as one vector, in layout order (each array row-major).");
    cls.def("copy", [](const P& p) { return P(p); }, "An independent copy.");
    cls.def("__copy__", [](const P& p) { return P(p); });
    cls.def("__deepcopy__", [](const P& p, py::dict) { return P(p); }, py::arg("memo"));
    cls.def("__repr__", [name](const P& p) {
        const ModelSpec& s = p.spec();
        return std::string(name) + "(K=" + std::to_string(s.K) + ", m=" + std::to_string(s.m) +
               (s.is_vanilla() ? ""
                               : std::string(", cell='") + cell_name(s.cell) +
                                     "', layers=" + std::to_string(s.layers)) +
               (s.embedding ? ", embedding=" + std::to_string(s.embedding) : std::string()) + ")";
    });
}

// The streams a Trainer or an evaluation reads (train/streams.hpp), checked: a plain text, or,
// with targets, a documents layout whose every document begins a window of `window` inputs.
Streams make_streams(const py::handle& text, const py::handle& targets, long long start,
                     long long batch, long long window, int K) {
    require_positive_size(batch, "batch");
    require_positive_size(window, "the window length");
    Streams s;
    s.B = int(batch);
    s.text = to_int32(as_index_array(text, "text", K));
    require(py::array::ensure(text).ndim() == 1, "text must be a 1-D array of character indices");
    if (targets.is_none()) {
        require(start == -1, "start is the symbol documents begin with: give it with targets");
        return s;
    }
    require(start >= 0 && start < K, "start must be a character index in [0, " + std::to_string(K) +
                                         "), got " + std::to_string(start));
    s.start = std::int32_t(start);
    s.targets = to_int32(as_index_array(targets, "targets", K, true));
    require(s.targets.size() == s.text.size(), "targets must be as long as text (" +
                                                   std::to_string(s.text.size()) + "), got " +
                                                   std::to_string(s.targets.size()));
    require(s.text.size() % s.B == 0, "a documents layout holds batch = " + std::to_string(s.B) +
                                          " streams of equal length; text has " +
                                          std::to_string(s.text.size()) + " entries");
    // A document's first input (the start symbol, with a target) must begin a window: that is
    // where the state is zeroed. Elsewhere the start symbol may only be padding (no target).
    const std::int64_t chunk = s.chunk();
    for (std::size_t i = 0; i < s.text.size(); ++i)
        if (s.text[i] == s.start && s.targets[i] >= 0 && (std::int64_t(i) % chunk) % window != 0)
            throw std::invalid_argument("text[" + std::to_string(i) +
                                        "] starts a document in the middle of a window of " +
                                        std::to_string(window) +
                                        ": lay documents out for this window length "
                                        "(charrnn.data.document_streams)");
    return s;
}

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

template <typename T>
void bind_functions(py::module_& m) {
    using P = Params<T>;
    py::class_<Result<T>>(m, sizeof(T) == 8 ? "Result" : "Result32",
                          "What forward_backward returns. States follow h0's form: with a "
                          "leading layer axis L when h0 had one (or was None and L > 1).")
        .def_readonly("loss", &Result<T>::loss, "L = -sum_t log p_t[y_t] (mean over a batch)")
        .def_readonly("grads", &Result<T>::grads,
                      "the gradient of every array, as a Params (unclipped)")
        .def_readonly("h_last", &Result<T>::h_last,
                      "h_T of every layer: (m,), (B, m), (L, m) or (L, B, m)")
        .def_readonly("c_last", &Result<T>::c_last, "lstm: c_T, shaped as h_last; None otherwise")
        .def_readonly("hs", &Result<T>::hs,
                      "h_1 .. h_T: (T, m) or (B, T, m), (L, ...) with the layer axis")
        .def_readonly("cs", &Result<T>::cs, "lstm: c_1 .. c_T, shaped as hs; None otherwise")
        .def_readonly("probs", &Result<T>::probs, "p_1 .. p_T: (T, K) or (B, T, K)");

    m.def("forward_backward", &run_forward_backward<T>, py::arg("params"), py::arg("inputs"),
          py::arg("targets"), py::arg("h0") = py::none(), py::arg("c0") = py::none(),
          py::arg("dropout") = 0.0, py::arg("dropout_seed") = 0, py::arg("dropout_step") = 0,
          py::arg("threads") = 1,
          "Forward pass and backpropagation through time on character indices inputs (T,) or "
          "(B, T) with next-character targets of the same shape, from initial state h0 (and, "
          "for an lstm, c0): (L, m) or (L, B, m), or without the layer axis for one layer; "
          "None is zeros. dropout > 0 drops each unit of each layer's output h_t with that "
          "probability, by the masks of (dropout_seed, dropout_step) (see dropout_mask): the "
          "same arguments give the same masks. Returns a Result with loss, grads, h_last, "
          "c_last, hs, cs and probs (hs and cs before dropout). threads: how many threads may "
          "run it (the results are the same for any number).");
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
        py::arg("dropout_step") = 0, py::arg("threads") = 1,
        "The loss of forward_backward without the backward pass (for finite differences).");
    m.def(
        "clip_gradients",
        [](P& grads, double limit) {
            require_finite_positive(limit, "limit");
            clip_gradients(grads, limit);
        },
        py::arg("grads"), py::arg("limit") = 5.0,
        "Clip every gradient entry to [-limit, limit], in place.");
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
        py::arg("eps") = 1e-8,
        "AdaGrad in place: memory += g^2; params -= eta g / sqrt(memory + eps).");
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
        py::arg("decay") = 0.95, py::arg("eps") = 1e-8,
        "RMSprop in place (char-rnn's; torch.optim.RMSprop with alpha=decay): memory = decay "
        "memory + (1 - decay) g^2; params -= eta g / (sqrt(memory) + eps).");
    m.def(
        "adam_step",
        [](P& params, const P& grads, P& m_, P& v, long long t, double eta, double beta1,
           double beta2, double eps) {
            check_same_layout(params, grads, "grads");
            check_same_layout(params, m_, "m");
            check_same_layout(params, v, "v");
            if (t < 1)
                throw std::invalid_argument(
                    "t counts the updates including this one: it must be "
                    ">= 1, got " +
                    std::to_string(t));
            require_finite_positive(eta, "eta");
            require_unit_interval(beta1, "beta1");
            require_unit_interval(beta2, "beta2");
            require_finite_positive(eps, "eps");
            adam_step(params, grads, m_, v, t, eta, beta1, beta2, eps);
        },
        py::arg("params"), py::arg("grads"), py::arg("m"), py::arg("v"), py::arg("t"),
        py::arg("eta") = 0.1, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
        py::arg("eps") = 1e-8,
        "Adam in place (torch.optim.Adam): m = beta1 m + (1 - beta1) g; v = beta2 v + "
        "(1 - beta2) g^2; params -= eta (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps), "
        "t the number of updates including this one (1 for the first).");
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
                    throw py::type_error(std::string("state must hold ") +
                                         (sizeof(T) == 8 ? "Params" : "Params32") + " blocks");
            P& first = state[0].cast<P&>();
            P& last = state[py::len(state) - 1].cast<P&>();
            check_same_layout(params, first, "state");
            check_same_layout(params, last, "state");
            if (t < 1) throw std::invalid_argument("t must be >= 1, got " + std::to_string(t));
            // (memory, moment): AdaGrad's or RMSprop's memory, or Adam's (v, m).
            clip_update_step(s, params, grads, last, first, t);
        },
        py::arg("params"), py::arg("grads"), py::arg("state"), py::arg("t") = 1,
        py::arg("optimizer") = "adagrad", py::arg("eta") = 0.1, py::arg("eps") = 1e-8,
        py::arg("clip") = 5.0, py::arg("clip_norm") = 0.0, py::arg("decay") = 0.95,
        py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
        "For tests: the trainer's fused update (clip, then the optimiser, in one pass; the "
        "norm in a read pass before it if clip_norm > 0) on given gradients, which stay "
        "unmodified. state: (memory,) for adagrad and rmsprop, (m, v) for adam, updated in place; "
        "t: Adam's update number from 1.");
    m.def(
        "clip_by_norm",
        [](P& grads, double max_norm) {
            require_finite_positive(max_norm, "max_norm");
            return clip_by_norm(grads, max_norm);
        },
        py::arg("grads"), py::arg("max_norm"),
        "Clip by the global L2 norm in place, as torch.nn.utils.clip_grad_norm_: grads *= "
        "min(1, max_norm / (||grads|| + 1e-6)). Returns ||grads|| before clipping.");
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
            // In pieces with the GIL released, checking for Ctrl-C in between.
            long long done = 0;
            while (done < n) {
                const long long piece = std::min<long long>(n - done, 1 << 12);
                long long drawn;
                {
                    py::gil_scoped_release release;
                    drawn = sampler->draw(piece, dst + done, std::int32_t(stop));
                }
                done += drawn;
                if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                if (drawn < piece) break;  // drew the stop symbol
            }
            if (done < n) out.resize({py::ssize_t(done)});
            return out;
        },
        py::arg("params"), py::arg("h0"), py::arg("prime"), py::arg("n"), py::arg("seed") = 0,
        py::arg("temperature") = 1.0, py::arg("top_p") = 1.0, py::arg("c0") = py::none(),
        py::arg("stop") = -1,
        "Generate up to n character indices. The network first reads prime[:-1] from state h0 "
        "(and c0; None is zeros); prime[-1] is the first input. Each next character is drawn by "
        "inverse CDF from softmax(o / temperature), restricted to the top_p nucleus; drawing "
        "ends early after the character `stop` (if >= 0), which is included. Same seed, same "
        "text.");
    m.def(
        "evaluate",
        [](const P& params, const py::handle& text, long long chunk, const py::handle& targets,
           long long start, long long batch, long long threads) {
            require_finite_params(params, "params");
            thread_count(threads);
            require_positive_size(chunk, "chunk");
            const Streams streams = make_streams(text, targets, start, batch, chunk, params.K());
            require(streams.readable() >= 1, "text must hold at least " +
                                                 std::to_string(streams.documents() ? 1 : 2) +
                                                 " character indices per stream, got " +
                                                 std::to_string(streams.text.size()) +
                                                 " for batch = " + std::to_string(streams.B));
            Evaluation<T> ev(params, streams, int(chunk), int(threads));
            bool more = true;
            while (more) {
                {
                    py::gil_scoped_release release;
                    more = ev.advance(std::int64_t(1) << 15);
                }
                if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            }
            return py::make_tuple(ev.total_nats(), ev.predictions());
        },
        py::arg("params"), py::arg("text"), py::arg("chunk") = 512, py::arg("targets") = py::none(),
        py::arg("start") = -1, py::arg("batch") = 1, py::arg("threads") = 1,
        "(total, n): the summed loss -sum log p[y] in nats over the n predictions of a text, "
        "from a zero state, carried across chunks of `chunk` characters. A plain text predicts "
        "text[i+1] from text[:i+1] (n = len(text) - 1 for batch 1; batch > 1 reads that many "
        "equal chunks side by side, each from a zero state). With targets, a documents layout "
        "(charrnn.data.document_streams, made for windows of `chunk`): targets[i] (-1: none) "
        "after text[:i+1], the state zeroed where a document begins. threads: how many "
        "threads may run it (the result is the same for any number). The GIL is released; "
        "Ctrl-C raises KeyboardInterrupt.");
}

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
void bind_trainer(py::module_& m, const char* name) {
    using Tr = Trainer<T>;
    using P = Params<T>;
    py::class_<Tr>(m, name, "The native training loop over an encoded text (see run).")
        .def(
            py::init([](const P& params, const py::handle& text, long long seq_length,
                        long long batch, double eta, double eps, double clip,
                        const std::string& optimizer, double clip_norm, double decay, double beta1,
                        double beta2, double dropout, std::uint64_t dropout_seed,
                        const py::handle& targets, long long start, long long threads,
                        bool debias_best) {
                require_finite_params(params, "params");
                dropout_settings(dropout, dropout_seed, 0);
                require_positive_size(seq_length, "seq_length");
                const OptimSettings optim =
                    optim_settings(optimizer, eta, eps, clip, clip_norm, decay, beta1, beta2);
                Streams streams = make_streams(text, targets, start, batch, seq_length, params.K());
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
            py::arg("dropout_seed") = 0, py::arg("targets") = py::none(), py::arg("start") = -1,
            py::arg("threads") = 1, py::arg("debias_best") = false,
            "optimizer: 'adagrad' (eps inside the sqrt), 'rmsprop' (decay) or 'adam' (beta1, "
            "beta2); eta its learning rate. Gradients are clipped elementwise to [-clip, clip], "
            "or, if clip_norm > 0, by their global L2 norm to clip_norm (clip is then unused). "
            "dropout: the probability of dropping a unit of each layer's output h_t; update "
            "`step` uses the masks of (dropout_seed, step). With targets and start, text is a "
            "documents layout made for windows of seq_length (charrnn.data.document_streams): "
            "targets[i] (-1: none) is predicted after text[i], and a stream's state is zeroed "
            "at each window that begins a document. threads: how many threads run the steps "
            "(the results are the same for any number; settable between runs). debias_best: `best` "
            "follows the smooth loss with its start-up bias removed, (smooth - 0.999^n l_1) / "
            "(1 - 0.999^n) after n updates, instead of the smooth loss itself.")
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
                        ran = tr.run(int(this_chunk), out + done,
                                     smooth_out ? smooth_out + done : nullptr);
                    }
                    done += ran;
                    if (ran < this_chunk) break;  // diverged
                    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                    const double seconds =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count();
                    const double per_step = seconds / double(this_chunk);
                    chunk = std::max<long long>(
                        1,
                        std::min<long long>(1 << 20, (long long)(0.05 / std::max(per_step, 1e-9))));
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
            "params",
            [](py::object self) {
                return py::cast(&self.cast<Tr&>().params,
                                py::return_value_policy::reference_internal, self);
            },
            "current parameters (a live view)")
        .def_property_readonly(
            "memory",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                if (tr.settings().optim.optimizer == Optimizer::adam)
                    throw py::attribute_error(
                        "an adam trainer has no `memory`: its state is "
                        "state('m') and state('v')");
                return py::cast(&tr.memory, py::return_value_policy::reference_internal, self);
            },
            "adagrad: running sums of squared clipped gradients; rmsprop: their running mean v "
            "(a live view; state('memory'))")
        .def_property_readonly(
            "optimizer",
            [](const Tr& tr) { return std::string(optimizer_name(tr.settings().optim.optimizer)); },
            "'adagrad', 'rmsprop' or 'adam'")
        .def_property_readonly(
            "state_names",
            [](const Tr& tr) {
                if (tr.settings().optim.optimizer == Optimizer::adam)
                    return py::tuple(py::make_tuple("m", "v"));
                return py::tuple(py::make_tuple("memory"));
            },
            "the optimiser's state arrays, for state(name): ('memory',) for adagrad and rmsprop, "
            "('m', 'v') for adam")
        .def(
            "state",
            [](py::object self, const std::string& name) {
                Tr& tr = self.cast<Tr&>();
                const bool adam = tr.settings().optim.optimizer == Optimizer::adam;
                P* p = nullptr;
                if (adam && name == "m") p = &tr.moment;
                if (adam && name == "v") p = &tr.memory;
                if (!adam && name == "memory") p = &tr.memory;
                if (!p)
                    throw std::invalid_argument("'" + name + "' is not a state of " +
                                                optimizer_name(tr.settings().optim.optimizer) +
                                                ": its states are " +
                                                (adam ? "'m' and 'v'" : "'memory'"));
                return py::cast(p, py::return_value_policy::reference_internal, self);
            },
            py::arg("name"),
            "The live Params of one optimiser state (see state_names): write into its flat to "
            "restore a checkpoint. Adam's t is step + 1 at each update, so params, these states "
            "and step restored into a fresh Trainer continue bit for bit.")
        .def_property_readonly(
            "best",
            [](py::object self) {
                return py::cast(&self.cast<Tr&>().best, py::return_value_policy::reference_internal,
                                self);
            },
            "the parameters with the lowest smooth loss so far (a live view)")
        .def_property(
            "h_prev",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                return state_view<T>(self, tr.state.h, tr.params.spec().layers);
            },
            [](Tr& tr, const py::handle& value) {
                set_state<T>(tr.state.h, tr.params.spec().layers, value, "h_prev");
            },
            "hidden state of every layer carried into the next step: (L, B, m)")
        .def_property(
            "c_prev",
            [](py::object self) {
                Tr& tr = self.cast<Tr&>();
                return state_view<T>(self, tr.state.c, tr.params.spec().layers);
            },
            [](Tr& tr, const py::handle& value) {
                set_state<T>(tr.state.c, tr.params.spec().layers, value, "c_prev");
            },
            "lstm: cell state of every layer carried into the next step, (L, B, m); else None")
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
            "first_loss", [](const Tr& tr) { return tr.first_loss; },
            [](Tr& tr, double v) { tr.first_loss = v; },
            "the loss of the first update (l_1); NaN before it")
        .def_property(
            "best_smooth_loss", [](const Tr& tr) { return tr.best_smooth_loss; },
            [](Tr& tr, double v) { tr.best_smooth_loss = v; },
            "lowest smooth loss so far (debiased with debias_best)")
        .def_property_readonly(
            "debias_best", [](const Tr& tr) { return tr.settings().debias_best; },
            "whether `best` follows the debiased smooth loss")
        .def_property(
            "best_step", [](const Tr& tr) { return tr.best_step; },
            [](Tr& tr, long long v) { tr.best_step = v; },
            "the step whose starting parameters are `best`")
        .def_property_readonly("diverged", [](const Tr& tr) { return tr.diverged; })
        .def_property_readonly("steps_per_epoch", &Tr::steps_per_epoch)
        .def_property_readonly("seq_length", [](const Tr& tr) { return tr.settings().seq_length; })
        .def_property_readonly("batch", &Tr::batch)
        .def_property_readonly(
            "documents", [](const Tr& tr) { return tr.streams().documents(); },
            "whether the text is a documents layout")
        .def_property(
            "eta", [](const Tr& tr) { return tr.settings().optim.eta; },
            [](Tr& tr, double v) {
                require_finite_positive(v, "eta");
                tr.set_eta(v);
            },
            "learning rate; may be set between runs (a schedule)")
        .def_property_readonly("eps", [](const Tr& tr) { return tr.settings().optim.eps; })
        .def_property_readonly("clip", [](const Tr& tr) { return tr.settings().optim.clip; })
        .def_property_readonly(
            "clip_norm", [](const Tr& tr) { return tr.settings().optim.clip_norm; },
            "if > 0, gradients are clipped by their global L2 norm to this; 0: elementwise, to "
            "clip")
        .def_property_readonly("decay", [](const Tr& tr) { return tr.settings().optim.decay; })
        .def_property_readonly("beta1", [](const Tr& tr) { return tr.settings().optim.beta1; })
        .def_property_readonly("beta2", [](const Tr& tr) { return tr.settings().optim.beta2; })
        .def_property(
            "threads", [](const Tr& tr) { return tr.settings().threads; },
            [](Tr& tr, long long v) { tr.set_threads(thread_count(v)); },
            "threads running the steps; may be set between runs (results do not depend on it)")
        .def_property_readonly("dropout", [](const Tr& tr) { return tr.settings().dropout; })
        .def_property_readonly("dropout_seed",
                               [](const Tr& tr) { return tr.settings().dropout_seed; })
        .def_property_readonly("text_length",
                               [](const Tr& tr) { return tr.streams().text.size(); });
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    fix_product_blocking();  // the same bits on every CPU (core/floating.hpp)
    m.doc() =
        "charrnn's native core: forward/backward of the model family (rnn, lstm, gru cells "
        "in stacked layers), clipping, AdaGrad, RMSprop, Adam, sampling, evaluation and the "
        "training loop, in C++ with Eigen. Private: use the `charrnn` package.";
    m.def(
        "layout",
        [](const std::string& cell, long long K, long long m_, long long layers,
           long long embedding) {
            return layout_list(make_layout(make_spec(K, m_, cell, layers, embedding)));
        },
        py::arg("cell"), py::arg("K"), py::arg("m"), py::arg("layers") = 1, py::kw_only(),
        py::arg("embedding") = 0,
        "The parameter layout of a model: one dict per array, in flat-block order, with keys "
        "name, role, layer, shape, offset, size and init.");
    m.def(
        "dropout_mask",
        [](double p, std::uint64_t seed, long long step, long long point, long long m_,
           long long T_len, long long B) {
            const Dropout d = dropout_settings(p, seed, step);
            require_positive_size(point, "point");
            require_positive_size(m_, "m");
            require_positive_size(T_len, "T");
            require_positive_size(B, "B");
            require(double(m_) * double(T_len) * double(B) < double(1LL << 40),
                    "a mask of m * T * B = " + std::to_string(double(m_) * T_len * B) +
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
        py::arg("p"), py::arg("seed"), py::arg("step"), py::arg("point"), py::arg("m"),
        py::arg("T"), py::arg("B") = 1,
        "The dropout mask the core applies at point `point` (1 .. L: the output of that layer) "
        "in the update `step` of a run seeded `seed`, for B sequences of T steps of m units: "
        "(B, T, m) of 0 or 1 / (1 - p).");
    bind_params<double>(m, "Params");
    bind_params<float>(m, "Params32");
    bind_functions<double>(m);
    bind_functions<float>(m);
    bind_trainer<double>(m, "Trainer");
    bind_trainer<float>(m, "Trainer32");
    bind_inspect(m);
    m.attr("CELLS") = py::make_tuple("rnn", "lstm", "gru");
    m.attr("EIGEN_VERSION") = std::to_string(EIGEN_WORLD_VERSION) + "." +
                              std::to_string(EIGEN_MAJOR_VERSION) + "." +
                              std::to_string(EIGEN_MINOR_VERSION);
    m.attr("SIMD") = std::string(Eigen::SimdInstructionSetsInUse());
    m.attr("ARCH") =
        CHARRNN_ARCH_NAME;  // the -march level the core was built for (cmake/arch.cmake)
}
