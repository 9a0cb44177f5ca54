// The floating-point mode the core computes in: subnormal numbers flushed to zero. On x86 an
// operation on a subnormal (below 1.2e-38 in float32, 2.2e-308 in float64) takes ~100 cycles
// instead of one, and training makes them: Adam's and RMSprop's running averages of a parameter
// whose gradient stays zero (the input weights of a character not in the batch) decay by beta
// every update and cross 1e-38 after ~830 updates at 0.9, and saturated gates underflow. An
// LSTM step at batch 1 slowed by a third after a thousand Adam updates. Read as zero they change
// no result that matters. And Eigen's product blocking fixed (fix_product_blocking), so a
// product sums in the same order on every CPU.
#pragma once

#include <Eigen/Core>

#if defined(__SSE__) || defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define CHARRNN_MXCSR 1
#endif

namespace charrnn {

// Flush-to-zero and denormals-are-zero while in scope; the caller's mode is restored after.
class FlushSubnormals {
public:
#ifdef CHARRNN_MXCSR
    FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
    ~FlushSubnormals() { _mm_setcsr(saved_); }

private:
    static constexpr unsigned kFtzDaz = 0x8040;  // MXCSR bits 15 (FTZ) and 6 (DAZ)
    unsigned saved_;
#else
    FlushSubnormals() = default;
#endif
    FlushSubnormals(const FlushSubnormals&) = delete;
    FlushSubnormals& operator=(const FlushSubnormals&) = delete;
};

// Eigen cuts a matrix product into blocks sized by the cache sizes it reads from the CPU, and
// the blocks set the order of each sum: the same build rounded differently on an AMD EPYC
// (L1 32 KiB, L2 1 MiB as Eigen reads them) and an Intel Sapphire Rapids (48 KiB, 2 MiB). Fixed
// sizes (Sapphire Rapids', where the pinned losses of tests/data were made) make the results
// of a build the same bits on every machine. Called once, when the module loads.
inline void fix_product_blocking() {
    Eigen::setCpuCacheSizes(48 * 1024, 2048 * 1024, 105 * 1024 * 1024);
}

}  // namespace charrnn
