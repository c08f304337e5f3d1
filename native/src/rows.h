// Row-broadcast kernels on a [rows, C] view, and a sum of squares (see rows.cc).
#pragma once
#include <cstddef>

namespace biocredit {

// out[i, c] = x[i, c] + b[c].
void addRow(const float* x, const float* b, float* out, std::size_t rows, std::size_t C);
// out[c] = Σ_i x[i, c], in a fixed order (rows of fewer than 64 columns in interleaved
// partial sums, see rows.cc).
void sumRows(const float* x, float* out, std::size_t rows, std::size_t C);
// Σ_i x[i]², in double precision, in a fixed order.
double sumSquares(const float* x, std::size_t n);

}  // namespace biocredit
