// Row-broadcast kernels on a [rows, C] view (see rows.cc).
#pragma once
#include <cstddef>

namespace biocredit {

// out[i, c] = x[i, c] + b[c].
void addRow(const float* x, const float* b, float* out, std::size_t rows, std::size_t C);
// out[c] = Σ_i x[i, c], summed over i in order.
void sumRows(const float* x, float* out, std::size_t rows, std::size_t C);

}  // namespace biocredit
