// Adam in one pass over a tensor, with tfjs's AdamOptimizer's float32 operations
// in its order, each rounded as its own kernel rounds it:
//
//   m' = m·β1 + g·(1 − β1)          v' = v·β2 + g²·(1 − β2)
//   x' = ((m' / c1) / (√(v' / c2) + ε)) · (−lr) + x,   c_i = 1 − β_i^t,
//
// with every constant rounded to float32 as a tfjs scalar is. Contraction into
// fused multiply-adds would change the rounding, so it is off in this file; no
// -ffast-math (it would also make sqrt(0) unsafe). The result is bit-identical to
// the twelve wasm kernels it replaces (tests/src/native.test.ts).
#pragma GCC optimize("fp-contract=off")

#include "adam.h"

#include <cmath>

namespace biocredit {

void adam(const float* __restrict x, const float* __restrict g, const float* __restrict m, const float* __restrict v, float* __restrict x1, float* __restrict m1,
          float* __restrict v1, std::size_t n, const AdamSettings& s) {
  const float b1 = static_cast<float>(s.beta1), b2 = static_cast<float>(s.beta2);
  const float keep1 = static_cast<float>(1 - s.beta1), keep2 = static_cast<float>(1 - s.beta2);
  const float eps = static_cast<float>(s.epsilon), step = static_cast<float>(-s.lr);
  const float c1 = s.correction1, c2 = s.correction2;
  for (std::size_t i = 0; i < n; ++i) {
    const float first = m[i] * b1 + g[i] * keep1;
    const float square = g[i] * g[i];
    const float second = v[i] * b2 + square * keep2;
    const float denom = std::sqrt(second / c2) + eps;
    x1[i] = ((first / c1) / denom) * step + x[i];
    m1[i] = first;
    v1[i] = second;
  }
}

}  // namespace biocredit
