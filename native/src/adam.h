// One Adam step over a tensor (see adam.cc).
#pragma once
#include <cstddef>

namespace biocredit {

struct AdamSettings {
  double lr, beta1, beta2, epsilon;
  // 1 − β1^t and 1 − β2^t as the optimizer holds them (float32).
  float correction1, correction2;
};

// x', m', v' from x, g, m, v (n floats each), exactly as tfjs's AdamOptimizer computes them.
void adam(const float* x, const float* g, const float* m, const float* v, float* x1, float* m1, float* v1, std::size_t n, const AdamSettings& s);

}  // namespace biocredit
