// Convolutions as im2col + the packed GEMM (gemm.cc). The patches of a chunk of
// images are laid out as rows of a matrix P [rows, KH·KW·CI] whose columns follow
// the filter's own [KH, KW, CI] order, so with the filter viewed as
// F [KH·KW·CI, CO]:
//   forward          y  = P · F                 (rows of y are NHWC positions)
//   filter gradient  dF = Σ_chunks Pᵀ · dy
//   input gradient   dP = dy · Fᵀ, scattered back onto the image (col2im)
// Chunks hold about a million floats of patches so the scratch stays in the
// last-level cache; the chunking and every loop order are fixed, so results are
// the same bits on every call.
#include "conv.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "conv-planes.h"
#include "gemm.h"

namespace biocredit {
namespace {

// Up to this many output channels (input channels for the input gradient) a stride-1
// convolution runs on planes (conv-planes.cc): the GEMM would fill few of its lanes.
constexpr std::size_t PLANES_MAX_CHANNELS = 16;

constexpr std::size_t CHUNK_FLOATS = std::size_t(1) << 20;

thread_local std::unique_ptr<float, FreeDeleter> patches;
thread_local std::size_t patchesCap = 0;

// Images per chunk: at least one, else as many as fit CHUNK_FLOATS of patches.
std::size_t chunkImages(const ConvShape& s) {
  const std::size_t perImage = s.OH * s.OW * s.KH * s.KW * s.CI;
  return std::max<std::size_t>(1, perImage ? CHUNK_FLOATS / perImage : s.B);
}

// Calls f(b, ih, iw0, row, tap0, n) for every output position `row` of images
// [b0, b0+nb) (rows counted from b0) and every filter row kh: the taps
// tap0 .. tap0+n−1 (tap = kh·KW + kw) that fall inside the image read input
// row ih from column iw0 on, dw columns apart. Taps outside the image are not
// visited (they read zeros).
template <typename F>
void taps(const ConvShape& s, std::size_t b0, std::size_t nb, F f) {
  for (std::size_t b = 0; b < nb; ++b)
    for (std::size_t oh = 0; oh < s.OH; ++oh)
      for (std::size_t ow = 0; ow < s.OW; ++ow) {
        const std::size_t row = (b * s.OH + oh) * s.OW + ow;
        // Columns read: ow·sw − left + kw·dw for kw in [kwLo, kwHi).
        const std::ptrdiff_t c0 = std::ptrdiff_t(ow * s.sw) - std::ptrdiff_t(s.left);
        std::ptrdiff_t kwLo = 0, kwHi = std::ptrdiff_t(s.KW);
        while (kwLo < kwHi && c0 + kwLo * std::ptrdiff_t(s.dw) < 0) ++kwLo;
        while (kwHi > kwLo && c0 + (kwHi - 1) * std::ptrdiff_t(s.dw) >= std::ptrdiff_t(s.W)) --kwHi;
        if (kwLo == kwHi) continue;
        for (std::size_t kh = 0; kh < s.KH; ++kh) {
          const std::ptrdiff_t ih = std::ptrdiff_t(oh * s.sh + kh * s.dh) - std::ptrdiff_t(s.top);
          if (ih < 0 || ih >= std::ptrdiff_t(s.H)) continue;
          f(b0 + b, std::size_t(ih), std::size_t(c0 + kwLo * std::ptrdiff_t(s.dw)), row, kh * s.KW + std::size_t(kwLo), std::size_t(kwHi - kwLo));
        }
      }
}

// P for images [b0, b0+nb): zero where a tap falls outside the image.
void im2col(const float* x, const ConvShape& s, std::size_t b0, std::size_t nb, float* p) {
  const std::size_t cols = s.KH * s.KW * s.CI;
  std::fill(p, p + nb * s.OH * s.OW * cols, 0.f);
  taps(s, b0, nb, [&](std::size_t b, std::size_t ih, std::size_t iw0, std::size_t row, std::size_t tap0, std::size_t n) {
    float* dst = p + row * cols + tap0 * s.CI;
    const float* src = x + ((b * s.H + ih) * s.W + iw0) * s.CI;
    // Undilated taps of one filter row are one contiguous run of the input.
    if (s.dw == 1) std::copy_n(src, n * s.CI, dst);
    else
      for (std::size_t t = 0; t < n; ++t) std::copy_n(src + t * s.dw * s.CI, s.CI, dst + t * s.CI);
  });
}

#if defined(__AVX512F__)
// The filter gradient of a valid stride-1 convolution with 16 output channels, those
// channels in the vector lanes: dF[kh, kw, ci, :] = Σ_{b, oh, ow} x[b, oh + kh, ow + kw, ci] ·
// dy[b, oh, ow, :]. For one filter row kh, the KW·CI entries (kw, ci) a position reads are
// consecutive in x, so E of them are E broadcast multiply-adds on one dy vector, every lane
// useful and no patch matrix built. Each entry sums the positions in order.
template <std::size_t E>
void lanesFilterBlock(const float* x, const float* dy, float* df, const ConvShape& s, std::size_t kh, std::size_t e0) {
  __m512 acc[E];
  for (std::size_t j = 0; j < E; ++j) acc[j] = _mm512_setzero_ps();
  for (std::size_t b = 0; b < s.B; ++b)
    for (std::size_t oh = 0; oh < s.OH; ++oh) {
      const float* xr = x + ((b * s.H + oh + kh) * s.W) * s.CI + e0;
      const float* d = dy + (b * s.OH + oh) * s.OW * 16;
      for (std::size_t ow = 0; ow < s.OW; ++ow) {
        const __m512 g = _mm512_loadu_ps(d + ow * 16);
        const float* xp = xr + ow * s.CI;
        for (std::size_t j = 0; j < E; ++j) acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(xp[j]), g, acc[j]);
      }
    }
  for (std::size_t j = 0; j < E; ++j) _mm512_storeu_ps(df + (kh * s.KW * s.CI + e0 + j) * 16, acc[j]);
}

template <std::size_t... E>
constexpr auto lanesFilterBlocks(std::index_sequence<E...>) {
  return std::array<void (*)(const float*, const float*, float*, const ConvShape&, std::size_t, std::size_t), sizeof...(E)>{&lanesFilterBlock<E + 1>...};
}

// The forward pass of the same convolutions: y[b, oh, ow, :] = Σ_{kh, kw, ci} x[b, oh + kh,
// ow + kw, ci] · F[kh, kw, ci, :], R consecutive outputs of a row at a time, each filter
// vector loaded once for R broadcast multiply-adds. Each output sums its taps in order.
template <std::size_t R>
void lanesForwardBlock(const float* x, const float* f, float* y, const ConvShape& s, std::size_t b, std::size_t oh, std::size_t ow0) {
  __m512 acc[R];
  for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  const std::size_t row = s.KW * s.CI;
  for (std::size_t kh = 0; kh < s.KH; ++kh) {
    const float* xr = x + ((b * s.H + oh + kh) * s.W + ow0) * s.CI;
    const float* fr = f + kh * row * 16;
    for (std::size_t e = 0; e < row; ++e) {
      const __m512 w = _mm512_loadu_ps(fr + e * 16);
      for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(xr[r * s.CI + e]), w, acc[r]);
    }
  }
  float* out = y + ((b * s.OH + oh) * s.OW + ow0) * 16;
  for (std::size_t r = 0; r < R; ++r) _mm512_storeu_ps(out + r * 16, acc[r]);
}

template <std::size_t... R>
constexpr auto lanesForwardBlocks(std::index_sequence<R...>) {
  return std::array<void (*)(const float*, const float*, float*, const ConvShape&, std::size_t, std::size_t, std::size_t), sizeof...(R)>{&lanesForwardBlock<R + 1>...};
}

// Outputs per forward block.
constexpr std::size_t LANES_OUTPUTS = 12;

void lanesForward(const float* x, const float* f, float* y, const ConvShape& s) {
  static constexpr auto blocks = lanesForwardBlocks(std::make_index_sequence<LANES_OUTPUTS>{});
  const std::size_t n = (s.OW + LANES_OUTPUTS - 1) / LANES_OUTPUTS, size = n ? (s.OW + n - 1) / n : 0;
  for (std::size_t b = 0; b < s.B; ++b)
    for (std::size_t oh = 0; oh < s.OH; ++oh)
      for (std::size_t ow0 = 0; ow0 < s.OW; ow0 += size) blocks[std::min(size, s.OW - ow0) - 1](x, f, y, s, b, oh, ow0);
}

// Entries per block: accumulators plus the dy vector fit the 32 vector registers.
constexpr std::size_t LANES_ENTRIES = 24;

// Valid stride-1 convolutions with 16 output channels: every tap inside the image.
bool lanesFit(const ConvShape& s) {
  return s.CO == 16 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && s.top == 0 && s.left == 0 && s.OH + s.KH <= s.H + 1 && s.OW + s.KW <= s.W + 1;
}

void lanesFilterGrad(const float* x, const float* dy, float* df, const ConvShape& s) {
  static constexpr auto blocks = lanesFilterBlocks(std::make_index_sequence<LANES_ENTRIES>{});
  // A filter row's entries in equal blocks (30 as 15 + 15, not 24 + 6, whose short block loads dy once per few multiply-adds).
  const std::size_t row = s.KW * s.CI, n = (row + LANES_ENTRIES - 1) / LANES_ENTRIES, size = (row + n - 1) / n;
  for (std::size_t kh = 0; kh < s.KH; ++kh)
    for (std::size_t e0 = 0; e0 < row; e0 += size) blocks[std::min(size, row - e0) - 1](x, dy, df, s, kh, e0);
}
#endif

}  // namespace

void conv2d(const float* x, const float* filter, float* y, const ConvShape& s) {
#if defined(__AVX512F__)
  if (lanesFit(s)) return lanesForward(x, filter, y, s);
#endif
  if (planesFit(s) && s.CO <= PLANES_MAX_CHANNELS) return conv2dPlanes(x, filter, y, s);
  const std::size_t cols = s.KH * s.KW * s.CI, step = chunkImages(s), perImage = s.OH * s.OW;
  for (std::size_t b0 = 0; b0 < s.B; b0 += step) {
    const std::size_t nb = std::min(step, s.B - b0);
    float* p = scratch(patches, patchesCap, nb * perImage * cols);
    im2col(x, s, b0, nb, p);
    gemm(p, filter, y + b0 * perImage * s.CO, 1, nb * perImage, s.CO, cols, false, false, 0, 0);
  }
}

void conv2dBackpropFilter(const float* x, const float* dy, float* dfilter, const ConvShape& s) {
#if defined(__AVX512F__)
  if (lanesFit(s)) return lanesFilterGrad(x, dy, dfilter, s);
#endif
  if (planesFit(s) && s.CO <= PLANES_MAX_CHANNELS) return conv2dBackpropFilterPlanes(x, dy, dfilter, s);
  const std::size_t cols = s.KH * s.KW * s.CI, step = chunkImages(s), perImage = s.OH * s.OW;
  if (s.B == 0) std::fill(dfilter, dfilter + cols * s.CO, 0.f);
  for (std::size_t b0 = 0; b0 < s.B; b0 += step) {
    const std::size_t nb = std::min(step, s.B - b0);
    float* p = scratch(patches, patchesCap, nb * perImage * cols);
    im2col(x, s, b0, nb, p);
    gemm(p, dy + b0 * perImage * s.CO, dfilter, 1, cols, s.CO, nb * perImage, true, false, 0, 0, b0 > 0);
  }
}

void conv2dBackpropInput(const float* dy, const float* filter, float* dx, const ConvShape& s) {
  if (planesFit(s) && s.CI <= PLANES_MAX_CHANNELS) return conv2dBackpropInputPlanes(dy, filter, dx, s);
  const std::size_t cols = s.KH * s.KW * s.CI, step = chunkImages(s), perImage = s.OH * s.OW;
  std::fill(dx, dx + s.B * s.H * s.W * s.CI, 0.f);
  for (std::size_t b0 = 0; b0 < s.B; b0 += step) {
    const std::size_t nb = std::min(step, s.B - b0);
    float* p = scratch(patches, patchesCap, nb * perImage * cols);
    gemm(dy + b0 * perImage * s.CO, filter, p, 1, nb * perImage, cols, s.CO, false, true, 0, 0);
    taps(s, b0, nb, [&](std::size_t b, std::size_t ih, std::size_t iw0, std::size_t row, std::size_t tap0, std::size_t n) {
      float* dst = dx + ((b * s.H + ih) * s.W + iw0) * s.CI;
      const float* src = p + row * cols + tap0 * s.CI;
      for (std::size_t t = 0; t < n; ++t)
        for (std::size_t c = 0; c < s.CI; ++c) dst[t * s.dw * s.CI + c] += src[t * s.CI + c];
    });
  }
}

namespace {

// The window of output (oh, ow) clipped to the image: rows r0 + [khLo, khHi), columns c0 + [kwLo, kwHi).
struct Window {
  std::ptrdiff_t r0, c0, khLo, khHi, kwLo, kwHi;
};

Window window(const ConvShape& s, std::size_t oh, std::size_t ow) {
  const std::ptrdiff_t r0 = std::ptrdiff_t(oh * s.sh) - std::ptrdiff_t(s.top), c0 = std::ptrdiff_t(ow * s.sw) - std::ptrdiff_t(s.left);
  return {r0, c0, std::max<std::ptrdiff_t>(0, -r0), std::min<std::ptrdiff_t>(s.KH, std::ptrdiff_t(s.H) - r0), std::max<std::ptrdiff_t>(0, -c0),
          std::min<std::ptrdiff_t>(s.KW, std::ptrdiff_t(s.W) - c0)};
}

// The gradient of one output (b, oh, ow) of max pooling, all channels: added at each channel's first maximum.
void poolWindow(const float* x, const float* dy, float* dx, const ConvShape& s, std::size_t b, std::size_t oh, std::size_t ow) {
  const std::size_t C = s.CI;
  const auto [r0, c0, khLo, khHi, kwLo, kwHi] = window(s, oh, ow);
  const float* g = dy + ((b * s.OH + oh) * s.OW + ow) * C;
  for (std::size_t c = 0; c < C; ++c) {
    float best = -INFINITY;
    std::ptrdiff_t at = -1;
    for (std::ptrdiff_t kh = khLo; kh < khHi; ++kh) {
      const std::ptrdiff_t base = ((std::ptrdiff_t(b * s.H) + r0 + kh) * std::ptrdiff_t(s.W) + c0) * std::ptrdiff_t(C) + std::ptrdiff_t(c);
      // Selects, not branches: which tap holds the maximum is data, and mispredicting it cost most of the time.
      for (std::ptrdiff_t kw = kwLo; kw < kwHi; ++kw) {
        const std::ptrdiff_t i = base + kw * std::ptrdiff_t(C);
        const bool above = x[i] > best;
        best = above ? x[i] : best;
        at = above ? i : at;
      }
    }
    if (at >= 0) dx[at] += g[c];
  }
}

#if defined(__AVX512F__)
// Outputs [owLo, owHi) of row oh, whose windows lie inside the image and do not overlap
// (strides at least the window): 16 (column, channel) outputs at a time, each tap
// gathered, the first maximum kept with the same strict comparison as poolWindow, and
// the gradient scattered to it (no two outputs share an input, and dx starts at zero).
// column[ow·C + c] is that output's first input, counted from the start of its row.
void poolRow(const float* x, const float* dy, float* dx, const ConvShape& s, std::size_t b, std::size_t oh, std::size_t owLo, std::size_t owHi,
             const std::int32_t* column) {
  const std::size_t C = s.CI, end = owHi * C;
  const float* g = dy + (b * s.OH + oh) * s.OW * C;
  const std::size_t r0 = oh * s.sh - s.top;
  for (std::size_t j0 = owLo * C; j0 < end; j0 += 16) {
    const __mmask16 lanes = end - j0 >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (end - j0)) - 1);
    const __m512i col = _mm512_maskz_loadu_epi32(lanes, column + j0);
    __m512 best = _mm512_set1_ps(-INFINITY);
    __m512i at = _mm512_set1_epi32(-1);
    for (std::size_t kh = 0; kh < s.KH; ++kh)
      for (std::size_t kw = 0; kw < s.KW; ++kw) {
        const __m512i i = _mm512_add_epi32(col, _mm512_set1_epi32(std::int32_t(((b * s.H + r0 + kh) * s.W) * C + kw * C)));
        const __m512 v = _mm512_mask_i32gather_ps(best, lanes, i, x, 4);
        const __mmask16 above = _mm512_mask_cmp_ps_mask(lanes, v, best, _CMP_GT_OQ);
        best = _mm512_mask_mov_ps(best, above, v);
        at = _mm512_mask_mov_epi32(at, above, i);
      }
    const __mmask16 found = _mm512_mask_cmpge_epi32_mask(lanes, at, _mm512_setzero_si512());
    _mm512_mask_i32scatter_ps(dx, found, at, _mm512_maskz_loadu_ps(lanes, g + j0), 4);
  }
}
#endif

// The largest input of output (b, oh, ow)'s window, all channels; the strict comparison
// skips NaN as the CPU backend does, and a window without taps gives −∞.
void poolWindowMax(const float* x, float* y, const ConvShape& s, std::size_t b, std::size_t oh, std::size_t ow) {
  const std::size_t C = s.CI;
  const Window w = window(s, oh, ow);
  float* out = y + ((b * s.OH + oh) * s.OW + ow) * C;
  std::fill(out, out + C, -INFINITY);
  for (std::ptrdiff_t kh = w.khLo; kh < w.khHi; ++kh)
    for (std::ptrdiff_t kw = w.kwLo; kw < w.kwHi; ++kw) {
      const float* in = x + ((std::ptrdiff_t(b * s.H) + w.r0 + kh) * std::ptrdiff_t(s.W) + w.c0 + kw) * std::ptrdiff_t(C);
      for (std::size_t c = 0; c < C; ++c) out[c] = in[c] > out[c] ? in[c] : out[c];
    }
}

// Where the vector paths apply: columns [owLo, owHi) of the rows whose windows lie inside
// the image, when windows do not overlap (strides at least the window) and the tensor fits
// 32-bit gather indices; column[ow·C + c] is output (ow, c)'s first input from its row's start.
struct InsideColumns {
  std::size_t owLo, owHi;
  std::vector<std::int32_t> column;

  explicit InsideColumns(const ConvShape& s) : owLo(s.OW), owHi(s.OW) {
#if defined(__AVX512F__)
    const std::size_t C = s.CI;
    if (s.sh < s.KH || s.sw < s.KW || s.B * s.H * s.W * C >= (std::size_t(1) << 31)) return;
    owLo = std::min(s.OW, (s.left + s.sw - 1) / s.sw);
    owHi = s.W + s.left >= s.KW ? std::min(s.OW, (s.W + s.left - s.KW) / s.sw + 1) : 0;
    owHi = std::max(owLo, owHi);
    column.resize(s.OW * C);
    for (std::size_t ow = owLo; ow < owHi; ++ow)
      for (std::size_t c = 0; c < C; ++c) column[ow * C + c] = std::int32_t((ow * s.sw - s.left) * C + c);
#endif
  }

  // The columns of output row oh that take the vector path (empty when its windows leave the image).
  std::pair<std::size_t, std::size_t> of(const ConvShape& s, std::size_t oh) const {
    const bool rowsInside = oh * s.sh >= s.top && oh * s.sh - s.top + s.KH <= s.H;
    return rowsInside ? std::pair{owLo, owHi} : std::pair{s.OW, s.OW};
  }
};

#if defined(__AVX512F__)
// Outputs [owLo, owHi) of row oh (see InsideColumns), 16 (column, channel) outputs at a time,
// each tap gathered; the same strict comparison as poolWindowMax.
void poolRowMax(const float* x, float* y, const ConvShape& s, std::size_t b, std::size_t oh, std::size_t owLo, std::size_t owHi,
                const std::int32_t* column) {
  const std::size_t C = s.CI, end = owHi * C;
  float* out = y + (b * s.OH + oh) * s.OW * C;
  const std::size_t r0 = oh * s.sh - s.top;
  for (std::size_t j0 = owLo * C; j0 < end; j0 += 16) {
    const __mmask16 lanes = end - j0 >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (end - j0)) - 1);
    const __m512i col = _mm512_maskz_loadu_epi32(lanes, column + j0);
    __m512 best = _mm512_set1_ps(-INFINITY);
    for (std::size_t kh = 0; kh < s.KH; ++kh)
      for (std::size_t kw = 0; kw < s.KW; ++kw) {
        const __m512i i = _mm512_add_epi32(col, _mm512_set1_epi32(std::int32_t(((b * s.H + r0 + kh) * s.W) * C + kw * C)));
        const __m512 v = _mm512_mask_i32gather_ps(best, lanes, i, x, 4);
        best = _mm512_mask_mov_ps(best, _mm512_mask_cmp_ps_mask(lanes, v, best, _CMP_GT_OQ), v);
      }
    _mm512_mask_storeu_ps(out + j0, lanes, best);
  }
}
#endif

// Runs edge(b, oh, ow) on every output outside the vector path and row(b, oh, lo, hi) on each row's part inside it.
template <typename Edge, typename Row>
void overOutputs(const ConvShape& s, const InsideColumns& inside, Edge edge, Row row) {
  for (std::size_t b = 0; b < s.B; ++b)
    for (std::size_t oh = 0; oh < s.OH; ++oh) {
      const auto [lo, hi] = inside.of(s, oh);
      for (std::size_t ow = 0; ow < lo; ++ow) edge(b, oh, ow);
      if (lo < hi) row(b, oh, lo, hi);
      for (std::size_t ow = std::max(lo, hi); ow < s.OW; ++ow) edge(b, oh, ow);
    }
}

}  // namespace

void maxPool(const float* x, float* y, const ConvShape& s) {
  const InsideColumns inside(s);
  overOutputs(
      s, inside, [&](std::size_t b, std::size_t oh, std::size_t ow) { poolWindowMax(x, y, s, b, oh, ow); },
      [&](std::size_t b, std::size_t oh, std::size_t lo, std::size_t hi) {
#if defined(__AVX512F__)
        poolRowMax(x, y, s, b, oh, lo, hi, inside.column.data());
#else
        for (std::size_t ow = lo; ow < hi; ++ow) poolWindowMax(x, y, s, b, oh, ow);
#endif
      });
}

void maxPoolGrad(const float* x, const float* dy, float* dx, const ConvShape& s) {
  std::fill(dx, dx + s.B * s.H * s.W * s.CI, 0.f);
  const InsideColumns inside(s);
  overOutputs(
      s, inside, [&](std::size_t b, std::size_t oh, std::size_t ow) { poolWindow(x, dy, dx, s, b, oh, ow); },
      [&](std::size_t b, std::size_t oh, std::size_t lo, std::size_t hi) {
#if defined(__AVX512F__)
        poolRow(x, dy, dx, s, b, oh, lo, hi, inside.column.data());
#else
        for (std::size_t ow = lo; ow < hi; ++ow) poolWindow(x, dy, dx, s, b, oh, ow);
#endif
      });
}

}  // namespace biocredit
