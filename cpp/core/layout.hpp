// The model family's one parameter layout: from a spec (cell, K, m, layers) a table of every
// parameter array (name, role, layer, shape, offset, initialisation), and the flat block that
// holds them. Everything else (numpy views, gradients, optimiser memory, checkpoint keys,
// gradient checks, memory estimates) is derived from this table; nothing spells out shapes again.
// Not here: what the parameters compute (cells/, model/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace charrnn {

// Parameters cross into numpy, which is row-major: storing them row-major lets Python hold
// zero-copy views. Activations never leave C++ and are column-major so that one time step (one
// column) is contiguous.
template <typename T>
using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

enum class Cell { rnn, lstm, gru };

const char* cell_name(Cell cell);
// "rnn", "lstm" or "gru"; std::invalid_argument otherwise.
Cell parse_cell(const std::string& name);

struct ModelSpec {
    // A bound that keeps the table itself small: each layer is a few entries and a workspace,
    // and a spec read from a file could otherwise ask for 2^31 of them before any check.
    static constexpr int kMaxLayers = 1024;
    Cell cell = Cell::rnn;
    int K = 0;          // vocabulary size
    int m = 0;          // hidden units per layer
    int layers = 1;     // L
    int embedding = 0;  // D: characters read as columns of a learnt (D, K) table E; 0: none
    // Rows of a layer's stacked weights per hidden unit: rnn 1, lstm 4 (i f g o), gru 3 (r z n).
    int gates() const { return cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1; }
    // The assignment's model, whose arrays keep their names W, U, V, b, c.
    bool is_vanilla() const { return cell == Cell::rnn && layers == 1 && embedding == 0; }
    // Rows of layer 1's input: a character's column of E, or its one-hot column.
    int input_width() const { return embedding > 0 ? embedding : K; }
    bool operator==(const ModelSpec& o) const {
        return cell == o.cell && K == o.K && m == o.m && layers == o.layers &&
               embedding == o.embedding;
    }
    bool operator!=(const ModelSpec& o) const { return !(*this == o); }
};

// What a parameter array is in the equations (see cells/*.hpp and model/model.hpp).
enum class Role {
    W,   // (G m, m)     hidden -> gates of layer l
    U,   // (G m, in_l)  input -> gates; in_1 = K (a column per character) or D (embedding),
         //              in_l = m above
    b,   // (G m)        gate bias (gru: b_r, b_z, b_in)
    bn,  // (m)          gru only: b_hn, inside r * (W_n h + b_hn)
    V,   // (K, m)       top hidden -> logits
    c,   // (K)          logit bias
    E,   // (D, K)       embedding: column x is what layer 1 reads for character x
};
const char* role_name(Role role);

enum class Init {
    normal,   // N(0, sig^2): the assignment's
    uniform,  // U(-1/sqrt(m), 1/sqrt(m)): PyTorch's for its recurrent cells and Linear
    zeros,
    forget_bias,  // zeros, but the forget gate's rows m .. 2m at init()'s forget_bias (default 1:
                  // char-rnn's and torch-rnn's)
    unit_normal,  // N(0, 1): PyTorch's nn.Embedding
};
const char* init_name(Init init);

struct Entry {
    std::string name;  // W, U, V, b, c for the vanilla model; W1 U1 b1 .. WL UL bL V c otherwise
    Role role;
    int layer;                // 1 .. L; 0 for V and c
    Eigen::Index rows, cols;  // cols = 1 for vectors
    bool vector;
    Eigen::Index offset;  // into the flat block
    Init init;
    Eigen::Index size() const { return rows * cols; }
};

struct Layout {
    ModelSpec spec;
    std::vector<Entry> entries;  // in flat-block order
    Eigen::Index size = 0;       // entries in all
    // The entry of a role in a layer; std::out_of_range if the model has none.
    const Entry& at(Role role, int layer = 0) const;
    // The entry named so, or null.
    const Entry* find(const std::string& name) const;
};

// Block order: E (with an embedding), per layer W_l then U_l, then V, then per layer b_l (and
// bn_l), then c. For the vanilla model that is W U V b c, the layout of format-1 checkpoints.
// Throws std::invalid_argument for sizes < 1 or a block of 2^62 entries or more.
Layout make_layout(const ModelSpec& spec);

// All parameters of one model in one flat block, as llm.c does: the same type holds parameters,
// gradients and optimiser memory, so clipping and the update are one flat loop. Copies share
// the (immutable) layout and copy the block.
template <typename T>
struct Params {
    std::shared_ptr<const Layout> layout;
    Vec<T> flat;

    Params() = default;
    explicit Params(std::shared_ptr<const Layout> layout_)
        : layout(std::move(layout_)), flat(Vec<T>::Zero(layout->size)) {}
    explicit Params(const ModelSpec& spec)
        : Params(std::make_shared<const Layout>(make_layout(spec))) {}

    const ModelSpec& spec() const { return layout->spec; }
    int K() const { return spec().K; }
    int m() const { return spec().m; }

    Eigen::Map<MatR<T>> mat(const Entry& e) { return {flat.data() + e.offset, e.rows, e.cols}; }
    Eigen::Map<const MatR<T>> mat(const Entry& e) const {
        return {flat.data() + e.offset, e.rows, e.cols};
    }
    Eigen::Map<Vec<T>> vec(const Entry& e) { return {flat.data() + e.offset, e.size()}; }
    Eigen::Map<const Vec<T>> vec(const Entry& e) const {
        return {flat.data() + e.offset, e.size()};
    }

    auto W(int l) { return mat(layout->at(Role::W, l)); }    // (G m, m)
    auto U(int l) { return mat(layout->at(Role::U, l)); }    // (G m, in_l)
    auto b(int l) { return vec(layout->at(Role::b, l)); }    // (G m)
    auto bn(int l) { return vec(layout->at(Role::bn, l)); }  // (m) gru
    auto V() { return mat(layout->at(Role::V)); }            // (K, m)
    auto c() { return vec(layout->at(Role::c)); }            // (K)
    auto E() { return mat(layout->at(Role::E)); }            // (D, K)
    auto W(int l) const { return mat(layout->at(Role::W, l)); }
    auto U(int l) const { return mat(layout->at(Role::U, l)); }
    auto b(int l) const { return vec(layout->at(Role::b, l)); }
    auto bn(int l) const { return vec(layout->at(Role::bn, l)); }
    auto V() const { return mat(layout->at(Role::V)); }
    auto c() const { return vec(layout->at(Role::c)); }
    auto E() const { return mat(layout->at(Role::E)); }

    void set_zero() { flat.setZero(); }
    // Every entry drawn by its Init, in block order, from one mt19937_64(seed); sig is the
    // standard deviation of Init::normal, forget_bias the value of Init::forget_bias's rows.
    void init(double sig, std::uint64_t seed, double forget_bias = 1.0);
};

// The recurrent state of L layers for B sequences: column l B + j is layer l+1, sequence j.
template <typename T>
struct State {
    Mat<T> h;  // (m, L B)
    Mat<T> c;  // (m, L B) lstm's cell state; (m, 0) for the other cells
    State() = default;
    State(const ModelSpec& spec, int B)
        : h(Mat<T>::Zero(spec.m, Eigen::Index(spec.layers) * B)),
          c(Mat<T>::Zero(spec.m, spec.cell == Cell::lstm ? Eigen::Index(spec.layers) * B : 0)) {}
    int B(const ModelSpec& spec) const { return int(h.cols() / spec.layers); }
    // Layer l's (0-based) block of B columns; c's is empty for cells without a cell state.
    auto h_of(int l, int B) { return h.middleCols(Eigen::Index(l) * B, B); }
    auto h_of(int l, int B) const { return h.middleCols(Eigen::Index(l) * B, B); }
    auto c_of(int l, int B) {
        return c.middleCols(c.cols() ? Eigen::Index(l) * B : 0, c.cols() ? B : 0);
    }
    auto c_of(int l, int B) const {
        return c.middleCols(c.cols() ? Eigen::Index(l) * B : 0, c.cols() ? B : 0);
    }
    void set_zero() {
        h.setZero();
        c.setZero();
    }
    // Sequence j of B starts afresh: its h (and c) zero in every layer.
    void zero_sequence(int j, int B) {
        for (Eigen::Index col = j; col < h.cols(); col += B) h.col(col).setZero();
        for (Eigen::Index col = j; col < c.cols(); col += B) c.col(col).setZero();
    }
};

}  // namespace charrnn
