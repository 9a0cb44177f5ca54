// The floating-point mode the core computes in: subnormal numbers flushed to zero. On x86 an
// operation on a subnormal (below 1.2e-38 in float32, 2.2e-308 in float64) takes ~100 cycles
// instead of one, and training makes them: Adam's and RMSprop's running averages of a parameter
// whose gradient stays zero (the input weights of a character not in the batch) decay by beta
// every update and cross 1e-38 after ~830 updates at 0.9, and saturated gates underflow. An
// LSTM step at batch 1 slowed by a third after a thousand Adam updates. Read as zero they change
// no result that matters. Not here: anything else about rounding.
#pragma once

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

}  // namespace charrnn
