// The vanilla RNN model: parameters, forward pass, backpropagation through time, sampling step.
// Pure C++/Eigen, no Python: bindings.cpp wraps it and validates input before calling in here,
// so these functions trust their arguments (shapes and index ranges are checked at the boundary).
//
//   a_t = W h_{t-1} + U x_t + b      // (m)   pre-activation
//   h_t = tanh(a_t)                  // (m)   hidden state
//   o_t = V h_t + c                  // (K)   logits
//   p_t = softmax(o_t)               // (K)   probabilities
//   L   = -(1/B) sum_b sum_t log p_t[y_t]   (B = 1 is the assignment's loss)
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <Eigen/Core>

namespace charrnn {

// Parameters cross into numpy, which is row-major: storing them row-major lets Python hold
// zero-copy views of W, U, V. Activations never leave C++ and are column-major so that one
// time step (one column) is contiguous.
template <typename T>
using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// All five parameters in one flat block (W | U | V | b | c), as llm.c does: the same type holds
// parameters, gradients and AdaGrad memory, so clipping and the update are one flat loop.
template <typename T>
struct Params {
    int K = 0;  // vocabulary size
    int m = 0;  // hidden size
    Vec<T> flat;

    Params() = default;
    Params(int K_, int m_) : K(K_), m(m_), flat(Vec<T>::Zero(size(K_, m_))) {}

    static Eigen::Index size(int K, int m) {
        return Eigen::Index(m) * m + 2 * Eigen::Index(m) * K + m + K;
    }
    Eigen::Index offset_W() const { return 0; }
    Eigen::Index offset_U() const { return Eigen::Index(m) * m; }
    Eigen::Index offset_V() const { return offset_U() + Eigen::Index(m) * K; }
    Eigen::Index offset_b() const { return offset_V() + Eigen::Index(K) * m; }
    Eigen::Index offset_c() const { return offset_b() + m; }

    Eigen::Map<MatR<T>> W() { return {flat.data() + offset_W(), m, m}; }  // (m, m)
    Eigen::Map<MatR<T>> U() { return {flat.data() + offset_U(), m, K}; }  // (m, K)
    Eigen::Map<MatR<T>> V() { return {flat.data() + offset_V(), K, m}; }  // (K, m)
    Eigen::Map<Vec<T>> b() { return {flat.data() + offset_b(), m}; }      // (m)
    Eigen::Map<Vec<T>> c() { return {flat.data() + offset_c(), K}; }      // (K)
    Eigen::Map<const MatR<T>> W() const { return {flat.data() + offset_W(), m, m}; }
    Eigen::Map<const MatR<T>> U() const { return {flat.data() + offset_U(), m, K}; }
    Eigen::Map<const MatR<T>> V() const { return {flat.data() + offset_V(), K, m}; }
    Eigen::Map<const Vec<T>> b() const { return {flat.data() + offset_b(), m}; }
    Eigen::Map<const Vec<T>> c() const { return {flat.data() + offset_c(), K}; }

    void set_zero() { flat.setZero(); }
    // W, U, V ~ N(0, sig^2), biases zero.
    void init_normal(double sig, std::uint64_t seed);
};

// What forward keeps for backward. Reused across calls: it only reallocates when sizes change.
// Column (t * B + j) of an activation matrix is sequence j at time step t. Hidden-sized columns
// are padded with zero rows to mp, a multiple of the SIMD width, so the sequential kernel in
// rnn.cpp works in whole vectors; use hidden(), the (m, ...) view, everywhere else.
template <typename T>
struct Workspace {
    int T_len = 0, B = 0, m = 0, mp = 0;
    Mat<T> Hs;      // (mp, (T+1) B)  h_0 .. h_T; block 0 is the initial state
    Mat<T> P;       // (K, T B)       p_1 .. p_T
    Mat<T> dHout;   // (mp, T B)      V^T d_o for every step (the part of dh that is not sequential)
    Mat<T> dA;      // (mp, T B)      da for every step
    // The kernel's copies of W, (m, mp) zero-padded and packed in panels whose width depends
    // on B (rnn.cpp, pack_panels); empty for a large W, which the kernel reads in place.
    Vec<T> Wt;      // W^T: row j is column j of W
    Vec<T> Wp;      // W
    MatR<T> Ub;     // (K, mp)        row k is U's column k plus b: U x_t + b for x_t = k;
                    //                backward reuses it for dU^T once forward is done with it
    void resize(int K, int m, int T_len, int B);
    auto hidden() { return Hs.topRows(m); }
    auto hidden() const { return Hs.topRows(m); }
};

// inputs, targets: B rows of T indices each (row-major, j * T + t). h0: (m, B), column j is
// sequence j's initial state. Returns the loss L above; fills ws.Hs and ws.P.
template <typename T>
double forward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
               int T_len, int B, const Eigen::Ref<const Mat<T>>& h0, Workspace<T>& ws);

// Gradients of the loss of the last forward() on the same ws, written into grads (overwritten,
// never clipped: clipping is its own step so a gradient check sees the true gradient).
template <typename T>
void backward(const Params<T>& params, const std::int32_t* inputs, const std::int32_t* targets,
              Workspace<T>& ws, Params<T>& grads);

// One generation step for one sequence: h <- tanh(W h + U x + b), returns p = softmax(o / temperature).
template <typename T>
void step_probs(const Params<T>& params, Vec<T>& h, int x, double temperature, Vec<T>& probs);

// Index drawn from probs by inverse CDF with uniform u in [0, 1), keeping only the smallest set
// of most likely characters whose mass reaches top_p (nucleus sampling; top_p = 1 keeps all).
template <typename T>
int draw_index(const Vec<T>& probs, double u, double top_p);

}  // namespace charrnn
