// The boundary checks and conversions the bindings share (see convert.hpp).
#include "bindings/convert.hpp"

#include <sstream>

namespace charrnn::bindings {

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

void require_positive_size(long long value, const char* name) {
    if (value <= 0 || value > std::numeric_limits<int>::max())
        throw std::invalid_argument(std::string(name) +
                                    " must be a positive integer below 2**31, "
                                    "got " +
                                    std::to_string(value));
}

void require_finite_positive(double value, const char* name) {
    if (!(std::isfinite(value) && value > 0))
        throw std::invalid_argument(std::string(name) + " must be a finite number > 0, got " +
                                    std::to_string(value));
}

void require_unit_interval(double value, const char* name) {
    if (!(value >= 0 && value < 1))
        throw std::invalid_argument(std::string(name) + " must be in [0, 1), got " +
                                    std::to_string(value));
}

int thread_count(long long threads) {
    constexpr long long kMaxThreads = 256;
    if (threads < 1 || threads > kMaxThreads)
        throw std::invalid_argument("threads must be a whole number from 1 to " +
                                    std::to_string(kMaxThreads) + ", got " +
                                    std::to_string(threads));
    return int(threads);
}

Dropout dropout_settings(double p, std::uint64_t seed, long long step) {
    if (!(p >= 0 && p < 1))
        throw std::invalid_argument("dropout must be a probability in [0, 1), got " +
                                    std::to_string(p));
    if (step < 0)
        throw std::invalid_argument("dropout_step must be >= 0, got " + std::to_string(step));
    return Dropout{p, seed, step};
}

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

ModelSpec make_spec(long long K, long long m, const std::string& cell, long long layers,
                    long long embedding) {
    require_positive_size(K, "K (vocabulary size)");
    require_positive_size(m, "m (hidden size)");
    require_positive_size(layers, "layers");
    if (embedding != 0) require_positive_size(embedding, "embedding (0: none)");
    return {parse_cell(cell), int(K), int(m), int(layers), int(embedding)};
}

std::string spec_string(const ModelSpec& s) {
    return std::string("cell=") + cell_name(s.cell) + ", K=" + std::to_string(s.K) +
           ", m=" + std::to_string(s.m) + ", layers=" + std::to_string(s.layers) +
           (s.embedding ? ", embedding=" + std::to_string(s.embedding) : std::string());
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

IndexArray as_index_array(const py::handle& obj, const char* name, int K, bool none) {
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

std::vector<std::int32_t> to_int32(const IndexArray& a) {
    return std::vector<std::int32_t>(a.data(), a.data() + a.size());
}

double* output_buffer(const py::handle& obj, const char* name) {
    if (!py::isinstance<py::array>(obj))
        throw std::invalid_argument(std::string(name) + " must be a numpy array");
    py::array arr = py::reinterpret_borrow<py::array>(obj);
    require(arr.ndim() == 1 && arr.dtype().equal(py::dtype::of<double>()) &&
                (arr.flags() & py::array::c_style) && arr.writeable(),
            std::string(name) + " must be a writable, contiguous 1-D float64 array");
    return static_cast<double*>(arr.mutable_data());
}

Streams make_streams(const py::handle& text, const py::handle& targets, long long end,
                     long long batch, long long window, int K) {
    require_positive_size(batch, "batch");
    require_positive_size(window, "the window length");
    Streams s;
    s.B = int(batch);
    s.text = to_int32(as_index_array(text, "text", K));
    require(py::array::ensure(text).ndim() == 1, "text must be a 1-D array of character indices");
    if (targets.is_none()) {
        require(end == -1,
                "end is the end-of-document symbol of a documents layout: give it with targets");
        return s;
    }
    require(end >= 0 && end < K, "end must be a character index in [0, " + std::to_string(K) +
                                     "), got " + std::to_string(end));
    s.end = std::int32_t(end);
    s.targets = to_int32(as_index_array(targets, "targets", K, true));
    require(s.targets.size() == s.text.size(), "targets must be as long as text (" +
                                                   std::to_string(s.text.size()) + "), got " +
                                                   std::to_string(s.targets.size()));
    require(s.text.size() % s.B == 0, "a documents layout holds batch = " + std::to_string(s.B) +
                                          " streams of equal length; text has " +
                                          std::to_string(s.text.size()) + " entries");
    // A document's first input (the end symbol, with a target) must begin a window: that is
    // where the state is zeroed. Elsewhere the end symbol may only be padding (no target).
    const std::int64_t length = s.length();
    for (std::size_t i = 0; i < s.text.size(); ++i)
        if (s.text[i] == s.end && s.targets[i] >= 0 && (std::int64_t(i) % length) % window != 0)
            throw std::invalid_argument("text[" + std::to_string(i) +
                                        "] starts a document in the middle of a window of " +
                                        std::to_string(window) +
                                        ": lay documents out for this window length "
                                        "(charrnn.data.document_streams)");
    return s;
}

}  // namespace charrnn::bindings
