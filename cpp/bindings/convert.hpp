// charrnn._core's boundary: the checks and conversions every binding shares. Each check a user
// could trip (shapes, dtypes, index range, finiteness, sizes) raises ValueError (invalid_argument)
// or IndexError here, so the core behind it can trust its inputs. No maths, no bound names.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/layout.hpp"
#include "model/dropout.hpp"
#include "model/model.hpp"
#include "optim/optim.hpp"
#include "train/streams.hpp"

namespace charrnn::bindings {

namespace py = pybind11;

// numpy is row-major and Eigen column-major: arrays cross as row-major buffers copied into or
// viewed over the flat block (a row-major (r, c) array is the block's (c, r) column-major).
using IndexArray = py::array_t<std::int64_t, py::array::c_style>;

template <typename T>
const char* dtype_name() {
    return sizeof(T) == 8 ? "float64" : "float32";
}
template <typename T>
const char* params_name() {
    return sizeof(T) == 8 ? "Params" : "Params32";
}

std::string shape_string(const py::array& a);
void require(bool ok, const std::string& message);
// Sizes are stored as int in the core: a larger value would wrap (2**31 became K=-2147483648).
void require_positive_size(long long value, const char* name);
void require_finite_positive(double value, const char* name);
// A decay rate (RMSprop's decay, Adam's betas): 1 would freeze the average (and make Adam's
// bias correction divide by zero).
void require_unit_interval(double value, const char* name);
// A thread count: 1 up to 256 (each is an OS thread, started at once).
int thread_count(long long threads);
// A dropout probability: 0 (off) up to, not including, 1 (1 would drop every unit).
Dropout dropout_settings(double p, std::uint64_t seed, long long step);
// The optimiser settings of a trainer (or of _clip_update_step), validated.
OptimSettings optim_settings(const std::string& optimizer, double eta, double eps, double clip,
                             double clip_norm, double decay, double beta1, double beta2);
ModelSpec make_spec(long long K, long long m, const std::string& cell, long long layers,
                    long long embedding);
std::string spec_string(const ModelSpec& s);
py::dict spec_dict(const ModelSpec& s);
py::list layout_list(const Layout& layout);

// numpy's conversion to A (a typed array_t). Unlike A::ensure, which returns a null array and
// clears the error (then data() segfaults), this raises numpy's own exception: MemoryError when
// a contiguous copy does not fit, or a cast warning that the caller turned into an error.
template <typename A>
A convert(const py::array& any) {
    return A(py::reinterpret_borrow<py::object>(any));
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
IndexArray as_index_array(const py::handle& obj, const char* name, int K, bool none = false);
std::vector<std::int32_t> to_int32(const IndexArray& a);

// An array the caller gave for results: written in place, so it must be exactly a writable,
// C-contiguous, 1-D float64 array (a converted copy would silently swallow the results).
double* output_buffer(const py::handle& obj, const char* name);

// A writable numpy view of rows x cols row-major values owned by `owner` (kept alive by it).
template <typename T>
py::array_t<T> view(T* data, py::ssize_t rows, py::ssize_t cols, const py::handle& owner,
                    bool vector) {
    if (vector) return py::array_t<T>({rows}, {py::ssize_t(sizeof(T))}, data, owner);
    return py::array_t<T>({rows, cols}, {py::ssize_t(sizeof(T)) * cols, py::ssize_t(sizeof(T))},
                          data, owner);
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

// The streams a Trainer or an evaluation reads (train/streams.hpp), checked: a plain text, or,
// with targets, a documents layout whose every document begins a window of `window` inputs.
Streams make_streams(const py::handle& text, const py::handle& targets, long long end,
                     long long batch, long long window, int K);

}  // namespace charrnn::bindings
