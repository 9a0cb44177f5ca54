// Params and Params32: the flat parameter block (core/layout.hpp) as a Python mapping of numpy
// views, one class per dtype from one template. Names, docstrings and checks only.
#include <cmath>
#include <string>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"

namespace charrnn::bindings {

namespace {

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

template <typename T>
void bind_params_of(py::module_& m, const char* name) {
    using P = Params<T>;
    const std::string dtype = dtype_name<T>();
    const std::string doc = "The parameters of one model in " + dtype +
                            R"doc(, stored in one flat block in the order of its
layout (see layout()).

Each array is a writable numpy view into that block, by name: `p['W1']` or `p.W1` (the
one-layer vanilla RNN's are W, U, V, b, c); assigning to a name copies into the block.
The same type holds gradients (Result.grads) and optimiser state (AdaGrad's memory, Adam's
m and v). It is a mapping: `len(p)`, `'W' in p`, iteration over the names, `keys()`,
`items()`. `p[name]` raises KeyError for a name not in the layout, `p.name` AttributeError,
and assigning an array of another shape, a non-real dtype or NaN/infinity raises ValueError.
Params (float64) and Params32 (float32, the float32 trainer's) do not mix: a function given
one where it got the other raises TypeError.)doc";
    auto cls = py::class_<P>(m, name, doc.c_str());
    cls.def(
        py::init([](long long K, long long m_, const std::string& cell, long long layers,
                    long long embedding) { return P(make_spec(K, m_, cell, layers, embedding)); }),
        py::arg("K"), py::arg("m"), py::kw_only(), py::arg("cell") = "rnn", py::arg("layers") = 1,
        py::arg("embedding") = 0,
        R"doc(All-zero parameters.

Args:
    K: Vocabulary size.
    m: Hidden units per layer.
    cell: 'rnn', 'lstm' or 'gru'.
    layers: Number of stacked layers.
    embedding: The embedding's width D (0: none; see layout).

Raises:
    ValueError: An unknown cell, or K, m or layers not in [1, 2**31).
    MemoryError: The block does not fit in memory.)doc");
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
        py::arg("K"), py::arg("m"), py::kw_only(), py::arg("sig") = 0.01, py::arg("seed") = 0,
        py::arg("cell") = "rnn", py::arg("layers") = 1, py::arg("embedding") = 0,
        py::arg("forget_bias") = 1.0,
        (R"doc(Initial weights: each array drawn by its layout's `init`, in block order, from one
generator seeded with `seed`)doc" +
         std::string(sizeof(T) == 8 ? "" : ", then rounded to float32") + R"doc(.

rnn weights N(0, sig^2) (the assignment's); lstm and gru weights U(-1/sqrt(m), 1/sqrt(m)),
as PyTorch draws them; biases zero, but an lstm's forget-gate bias forget_bias (1:
char-rnn's); an embedding N(0, 1), as nn.Embedding.

Args:
    K: Vocabulary size.
    m: Hidden units per layer.
    sig: Standard deviation of the rnn's weights (unused by lstm and gru).
    seed: Seed of the generator, in [0, 2**64).
    cell: 'rnn', 'lstm' or 'gru'.
    layers: Number of stacked layers.
    embedding: The embedding's width D (0: none; see layout).
    forget_bias: The initial bias of an lstm's forget gate (rows m..2m of each b).

Raises:
    ValueError: sig negative or not finite, an unknown cell, or a size out of range.)doc")
            .c_str());
    cls.def_property_readonly("K", &P::K, "Vocabulary size.");
    cls.def_property_readonly("m", &P::m, "Hidden units per layer.");
    cls.def_property_readonly(
        "cell", [](const P& p) { return std::string(cell_name(p.spec().cell)); },
        "'rnn', 'lstm' or 'gru'");
    cls.def_property_readonly(
        "layers", [](const P& p) { return p.spec().layers; }, "Number of layers L.");
    cls.def_property_readonly(
        "spec", [](const P& p) { return spec_dict(p.spec()); },
        "{'cell': str, 'K': int, 'm': int, 'layers': int, 'embedding': int}");
    cls.def_property_readonly(
        "layout", [](const P& p) { return layout_list(*p.layout); },
        "The layout, as layout() returns it.");
    cls.def_property_readonly(
        "names",
        [](const P& p) {
            py::list names;
            for (const Entry& e : p.layout->entries) names.append(e.name);
            return py::tuple(names);
        },
        "The array names in block order.");
    cls.def(
        "__getitem__",
        [](py::object self, const std::string& key) {
            return entry_view<T>(self, entry_named(self.cast<P&>(), key));
        },
        py::arg("name"));
    cls.def(
        "__setitem__",
        [](P& p, const std::string& key, const py::handle& value) {
            assign_entry(p, entry_named(p, key), value);
        },
        py::arg("name"), py::arg("value"));
    cls.def(
        "__contains__",
        [](const P& p, const std::string& key) { return p.layout->find(key) != nullptr; },
        py::arg("name"));
    cls.def("__len__", [](const P& p) { return p.layout->entries.size(); });
    cls.def(
        "__iter__", [](py::object self) { return py::iter(self.attr("names")); },
        "The array names in block order, as a mapping's keys.");
    cls.def(
        "keys", [](py::object self) { return py::tuple(self.attr("names")); },
        "The array names in block order.");
    cls.def(
        "items",
        [](py::object self) {
            py::list out;
            for (const Entry& e : self.cast<P&>().layout->entries)
                out.append(py::make_tuple(e.name, entry_view<T>(self, e)));
            return out;
        },
        "(name, writable view) pairs in block order.");
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
        ("Every parameter as one " + dtype +
         " vector (n,): a writable view, in layout order, each array\n"
         "row-major. Assigning copies in; ValueError for another shape or NaN/infinity.")
            .c_str());
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

}  // namespace

void bind_params(py::module_& m) {
    bind_params_of<double>(m, "Params");
    bind_params_of<float>(m, "Params32");
}

}  // namespace charrnn::bindings
