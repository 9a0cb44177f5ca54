// The parameter layout table and the initialisation of a flat block (see layout.hpp).
#include "core/layout.hpp"

#include <cmath>
#include <random>
#include <stdexcept>

namespace charrnn {

const char* cell_name(Cell cell) {
    switch (cell) {
        case Cell::lstm:
            return "lstm";
        case Cell::gru:
            return "gru";
        default:
            return "rnn";
    }
}

Cell parse_cell(const std::string& name) {
    if (name == "rnn") return Cell::rnn;
    if (name == "lstm") return Cell::lstm;
    if (name == "gru") return Cell::gru;
    throw std::invalid_argument("cell must be 'rnn', 'lstm' or 'gru', got '" + name + "'");
}

const char* role_name(Role role) {
    static const char* names[] = {"W", "U", "b", "bn", "V", "c", "E"};
    return names[int(role)];
}

const char* init_name(Init init) {
    static const char* names[] = {"normal", "uniform", "zeros", "forget_bias", "unit_normal"};
    return names[int(init)];
}

const Entry& Layout::at(Role role, int layer) const {
    for (const Entry& e : entries)
        if (e.role == role && e.layer == layer) return e;
    throw std::out_of_range(std::string("this ") + cell_name(spec.cell) + " model has no " +
                            role_name(role) + " in layer " + std::to_string(layer));
}

const Entry* Layout::find(const std::string& name) const {
    for (const Entry& e : entries)
        if (e.name == name) return &e;
    return nullptr;
}

Layout make_layout(const ModelSpec& spec) {
    if (spec.K < 1 || spec.m < 1 || spec.layers < 1)
        throw std::invalid_argument(
            "K, m and layers must be >= 1, got K=" + std::to_string(spec.K) +
            ", m=" + std::to_string(spec.m) + ", layers=" + std::to_string(spec.layers));
    if (spec.embedding < 0)
        throw std::invalid_argument("embedding must be >= 0 (0: none), got " +
                                    std::to_string(spec.embedding));
    if (spec.layers > ModelSpec::kMaxLayers)
        throw std::invalid_argument("layers must be at most " +
                                    std::to_string(ModelSpec::kMaxLayers) + ", got " +
                                    std::to_string(spec.layers));
    Layout layout;
    layout.spec = spec;
    const Eigen::Index K = spec.K, m = spec.m, G = spec.gates();
    const bool vanilla = spec.is_vanilla();
    const Init weights = spec.cell == Cell::rnn ? Init::normal : Init::uniform;
    auto add = [&](Role role, int layer, Eigen::Index rows, Eigen::Index cols, bool vector,
                   Init init) {
        std::string name = role_name(role);
        if (!vanilla && layer > 0) name += std::to_string(layer);
        // rows <= 4 (2^31 - 1) and cols < 2^31: compared by division, as the product may not
        // fit in 64 bits.
        const Eigen::Index room = (Eigen::Index(1) << 62) - layout.size;
        if (rows > room / cols)
            throw std::invalid_argument(
                std::string("a ") + cell_name(spec.cell) + " of " + std::to_string(spec.layers) +
                " layer(s) of m=" + std::to_string(spec.m) + " with K=" + std::to_string(spec.K) +
                " has too many parameters for one block (2^62 or more)");
        const Eigen::Index size = rows * cols;
        layout.entries.push_back({name, role, layer, rows, cols, vector, layout.size, init});
        layout.size += size;
    };
    if (spec.embedding > 0) add(Role::E, 0, spec.embedding, K, false, Init::unit_normal);
    for (int l = 1; l <= spec.layers; ++l) {
        add(Role::W, l, G * m, m, false, weights);
        add(Role::U, l, G * m, l == 1 ? spec.input_width() : m, false, weights);
    }
    add(Role::V, 0, K, m, false, weights);
    for (int l = 1; l <= spec.layers; ++l) {
        add(Role::b, l, G * m, 1, true, spec.cell == Cell::lstm ? Init::forget_bias : Init::zeros);
        if (spec.cell == Cell::gru) add(Role::bn, l, m, 1, true, Init::zeros);
    }
    add(Role::c, 0, K, 1, true, Init::zeros);
    return layout;
}

template <typename T>
void Params<T>::init(double sig, std::uint64_t seed, double forget_bias) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> normal(0.0, sig);
    const double bound = 1.0 / std::sqrt(double(m()));
    std::uniform_real_distribution<double> uniform(-bound, bound);
    std::normal_distribution<double> unit_normal(0.0, 1.0);
    flat.setZero();
    for (const Entry& e : layout->entries) {
        T* p = flat.data() + e.offset;
        switch (e.init) {
            case Init::normal:
                for (Eigen::Index i = 0; i < e.size(); ++i) p[i] = T(normal(gen));
                break;
            case Init::uniform:
                for (Eigen::Index i = 0; i < e.size(); ++i) p[i] = T(uniform(gen));
                break;
            case Init::unit_normal:
                for (Eigen::Index i = 0; i < e.size(); ++i) p[i] = T(unit_normal(gen));
                break;
            case Init::forget_bias:
                for (Eigen::Index i = m(); i < 2 * Eigen::Index(m()); ++i) p[i] = T(forget_bias);
                break;
            case Init::zeros:
                break;
        }
    }
}

template struct Params<double>;
template struct Params<float>;

}  // namespace charrnn
