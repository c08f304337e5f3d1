// A bias added to every row, and its gradient (the sum over rows): the wasm
// backend's broadcasting Add is six times slower than an Add of equal shapes,
// and its Sum over leading axes transposes first (a conv layer's bias and its
// gradient, every dense layer's bias).
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

}  // namespace biocredit
