// A bias added to every row, and its gradient (the sum over rows): the wasm
// backend's broadcasting Add is six times slower than an Add of equal shapes,
// and its Sum over leading axes transposes first (a conv layer's bias and its
// gradient, every dense layer's bias). The sum of squares is the update norm an
// optimizer step reports, one pass instead of two kernels per tensor.
#include "rows.h"

#include <algorithm>

namespace biocredit {

namespace {

// A row shorter than a vector (a conv layer's 6 or 16 channels) leaves most lanes idle
// in a per-row loop. Rows are instead taken `period / C` at a time, period the least
// multiple of C that is also a multiple of 16 floats, so the inner loop runs over
// whole vectors with the bias tiled to that length. Used for C below 64; longer rows
// vectorise as they are.
constexpr std::size_t kTiledBelow = 64;

std::size_t period(std::size_t C) {
  std::size_t p = C;
  while (p % 16) p += C;
  return p;
}

}  // namespace

void addRow(const float* __restrict x, const float* __restrict b, float* __restrict out, std::size_t rows, std::size_t C) {
  const std::size_t n = rows * C;
  std::size_t i = 0;
  if (C > 0 && C < kTiledBelow) {
    const std::size_t P = period(C);
    float tile[16 * kTiledBelow];
    for (std::size_t j = 0; j < P; ++j) tile[j] = b[j % C];
    for (; i + P <= n; i += P)
      for (std::size_t j = 0; j < P; ++j) out[i + j] = x[i + j] + tile[j];
  }
  for (; i < n; i += C)
    for (std::size_t c = 0; c < C; ++c) out[i + c] = x[i + c] + b[c];
}

void sumRows(const float* __restrict x, float* __restrict out, std::size_t rows, std::size_t C) {
  std::fill(out, out + C, 0.f);
  const std::size_t n = rows * C;
  std::size_t i = 0;
  if (C > 0 && C < kTiledBelow) {
    // Running sums per tile position (row i goes to the sum of its position i mod P/C),
    // then each column's P/C partial sums added in order, then the rows past the last tile.
    const std::size_t P = period(C);
    float tile[16 * kTiledBelow] = {};
    for (; i + P <= n; i += P)
      for (std::size_t j = 0; j < P; ++j) tile[j] += x[i + j];
    for (std::size_t j = 0; j < P; ++j) out[j % C] += tile[j];
  }
  for (; i < n; i += C)
    for (std::size_t c = 0; c < C; ++c) out[c] += x[i + c];
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
