// pybind11 binding of the inspection pass (model/inspect.hpp): inspect_forward. Conversions and
// validation only; the maths is in model/inspect.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "core/layout.hpp"
#include "model/inspect.hpp"

namespace py = pybind11;
using namespace charrnn;

namespace {

using Index = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// A 1-D array of indices in [0, K) as int32, named in the error.
std::vector<std::int32_t> indices(const py::handle& obj, const char* name, int K) {
    const py::array any = py::array::ensure(obj);
    if (!any || (any.dtype().kind() != 'i' && any.dtype().kind() != 'u') || any.ndim() != 1)
        throw std::invalid_argument(std::string(name) + " must be a 1-D integer array");
    const Index a(py::reinterpret_borrow<py::object>(any));
    std::vector<std::int32_t> out(a.size());
    for (py::ssize_t i = 0; i < a.size(); ++i) {
        const std::int64_t v = a.data()[i];
        if (v < 0 || v >= K)
            throw py::index_error(std::string(name) + "[" + std::to_string(i) + "] = " +
                                  std::to_string(v) + " is outside [0, " + std::to_string(K) + ")");
        out[i] = std::int32_t(v);
    }
    return out;
}

// h0 or c0, (L, m) (or (m,) for one layer) or None: zeros; into the state's layer columns.
template <typename T>
void read_state(const py::handle& obj, const char* name, const ModelSpec& spec, Mat<T>& dst) {
    if (obj.is_none()) return;
    const auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
    const bool ok = a && ((a.ndim() == 2 && a.shape(0) == spec.layers && a.shape(1) == spec.m) ||
                          (a.ndim() == 1 && spec.layers == 1 && a.shape(0) == spec.m));
    if (!ok)
        throw std::invalid_argument(std::string(name) + " must have shape (" +
                                    std::to_string(spec.layers) + ", " + std::to_string(spec.m) +
                                    ")");
    for (int l = 0; l < spec.layers; ++l)
        for (int i = 0; i < spec.m; ++i) dst(i, l) = T(a.data()[l * spec.m + i]);
}

template <typename T>
py::dict run_inspect(const Params<T>& params, const py::handle& inputs_obj,
                     const py::handle& targets_obj, const py::handle& h0, const py::handle& c0,
                     long long top_k, bool gates, long long threads) {
    const ModelSpec& spec = params.spec();
    if (!params.flat.allFinite())
        throw std::invalid_argument("params contain NaN or infinity: reinitialise or reload them");
    const auto inputs = indices(inputs_obj, "inputs", spec.K);
    const auto targets = indices(targets_obj, "targets", spec.K);
    if (inputs.empty() || inputs.size() != targets.size())
        throw std::invalid_argument(
            "inputs and targets must be non-empty and of equal length, got " +
            std::to_string(inputs.size()) + " and " + std::to_string(targets.size()));
    if (inputs.size() > (1u << 30)) throw std::invalid_argument("a chunk of 2**30 steps or more");
    if (top_k < 1 || top_k > spec.K)
        throw std::invalid_argument("top_k must be in [1, K=" + std::to_string(spec.K) + "], got " +
                                    std::to_string(top_k));
    if (threads < 1 || threads > 256) throw std::invalid_argument("threads must be from 1 to 256");
    const bool lstm = spec.cell == Cell::lstm;
    if (!c0.is_none() && !lstm) throw std::invalid_argument("c0 is for an lstm only");
    State<T> state(spec, 1);
    read_state<T>(h0, "h0", spec, state.h);
    if (lstm) read_state<T>(c0, "c0", spec, state.c);

    const py::ssize_t L = spec.layers, n = py::ssize_t(inputs.size()), m = spec.m, k = top_k;
    const py::ssize_t G = spec.gates() > 1 && gates ? spec.gates() : 0;
    py::array_t<T> hs({L, n, m}), top_p({n, k});
    py::array_t<std::int32_t> top_index({n, k}), rank(n);
    py::array_t<double> loss(n), entropy(n);
    py::object cs = py::none(), gate_arr = py::none();
    TraceOut<T> out;
    out.hs = hs.mutable_data();
    out.top_p = top_p.mutable_data();
    out.top_index = top_index.mutable_data();
    out.rank = rank.mutable_data();
    out.loss = loss.mutable_data();
    out.entropy = entropy.mutable_data();
    if (lstm) {
        py::array_t<T> a({L, n, m});
        out.cs = a.mutable_data();
        cs = a;
    }
    if (G) {
        py::array_t<T> a({L, G, n, m});
        out.gates = a.mutable_data();
        gate_arr = a;
    }
    {
        py::gil_scoped_release release;
        Parallel parallel(static_cast<int>(threads));
        Workspace<T> ws;
        ws.parallel = &parallel;
        inspect_forward(params, inputs.data(), targets.data(), int(n), int(k), state, ws, out);
    }
    py::dict d;
    d["hs"] = hs;
    d["cs"] = cs;
    d["gates"] = gate_arr;
    d["top_index"] = top_index;
    d["top_p"] = top_p;
    d["loss"] = loss;
    d["entropy"] = entropy;
    d["rank"] = rank;
    py::array_t<T> h_last({L, m});
    for (py::ssize_t l = 0; l < L; ++l)
        for (py::ssize_t i = 0; i < m; ++i) h_last.mutable_data()[l * m + i] = state.h(i, l);
    d["h_last"] = h_last;
    if (lstm) {
        py::array_t<T> c_last({L, m});
        for (py::ssize_t l = 0; l < L; ++l)
            for (py::ssize_t i = 0; i < m; ++i) c_last.mutable_data()[l * m + i] = state.c(i, l);
        d["c_last"] = c_last;
    } else {
        d["c_last"] = py::none();
    }
    return d;
}

template <typename T>
void bind_one(py::module_& m) {
    m.def("inspect_forward", &run_inspect<T>, py::arg("params"), py::arg("inputs"),
          py::arg("targets"), py::arg("h0") = py::none(), py::arg("c0") = py::none(), py::kw_only(),
          py::arg("top_k") = 5, py::arg("gates") = true, py::arg("threads") = 1,
          "The forward pass alone over one chunk of a text at batch 1 (inputs, targets: (T,) "
          "character indices), from state h0 (and c0 for an lstm), (L, m) or None for zeros, "
          "the GIL released. Returns a dict: hs (L, T, m), cs (L, T, m) or None, gates "
          "(L, G, T, m) (lstm [i f g o], gru [r z n]; None for rnn or gates=False), top_index "
          "and top_p (T, top_k), loss, entropy (T,) in nats, rank (T,) (characters more "
          "probable than the target), h_last and c_last (L, m): the state to carry into the "
          "next chunk. h, c and p are the bits forward_backward gives on the same window.");
}

}  // namespace

void bind_inspect(py::module_& m) {
    bind_one<double>(m);
    bind_one<float>(m);
}
