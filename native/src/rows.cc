// A bias added to every row, and its gradient (the sum over rows): the wasm
// backend's broadcasting Add is six times slower than an Add of equal shapes,
// and its Sum over leading axes transposes first (a conv layer's bias and its
// gradient, every dense layer's bias). The sum of squares is the update norm an
// optimizer step reports, one pass instead of two kernels per tensor.
#include "rows.h"

#include <algorithm>

namespace biocredit {

void addRow(const float* __restrict x, const float* __restrict b, float* __restrict out, std::size_t rows, std::size_t C) {
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t c = 0; c < C; ++c) out[i * C + c] = x[i * C + c] + b[c];
}

void sumRows(const float* __restrict x, float* __restrict out, std::size_t rows, std::size_t C) {
  std::fill(out, out + C, 0.f);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t c = 0; c < C; ++c) out[c] += x[i * C + c];
}

double sumSquares(const float* __restrict x, std::size_t n) {
  // Eight running sums, element i into sum i mod 8 (the loop vectorises without reordering any sum), then added in order.
  double lane[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t l = 0; l < 8; ++l) lane[l] += double(x[i + l]) * double(x[i + l]);
  for (; i < n; ++i) lane[i % 8] += double(x[i]) * double(x[i]);
  double total = 0;
  for (double s : lane) total += s;
  return total;
}

}  // namespace biocredit
