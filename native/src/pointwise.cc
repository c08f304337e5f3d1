// A ReLU layer's forward and backward (Relu; Step and Multiply in its gradient,
// dy ⊙ step(x)) as single vector passes: wasm's take 0.2-0.4 ms each on LeNet's
// first conv output (300k floats), several times the memory traffic they need.
// Written as selects so each loop vectorises; NaN propagates as on tfjs's CPU backend.
#include "pointwise.h"

namespace biocredit {

void relu(const float* __restrict x, float* __restrict out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = v > 0.f || v != v ? v : 0.f;
  }
}

void step(const float* __restrict x, float* __restrict out, std::size_t n, float alpha) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    out[i] = v != v ? v : v > 0.f ? 1.f : alpha;
  }
}

void multiply(const float* __restrict a, const float* __restrict b, float* __restrict out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

}  // namespace biocredit
