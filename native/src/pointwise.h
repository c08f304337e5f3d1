// Pointwise kernels over n floats (see pointwise.cc).
#pragma once
#include <cstddef>

namespace biocredit {

// out = max(x, 0), NaN kept.
void relu(const float* x, float* out, std::size_t n);
// out = 1 where x > 0, alpha elsewhere, NaN kept (tfjs's Step).
void step(const float* x, float* out, std::size_t n, float alpha);
// out = a ⊙ b.
void multiply(const float* a, const float* b, float* out, std::size_t n);

}  // namespace biocredit
