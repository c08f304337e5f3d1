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
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
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

}  // namespace

void conv2d(const float* x, const float* filter, float* y, const ConvShape& s) {
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

// The gradient of one output (b, oh, ow) of max pooling, all channels: added at each channel's first maximum.
void poolWindow(const float* x, const float* dy, float* dx, const ConvShape& s, std::size_t b, std::size_t oh, std::size_t ow) {
  const std::size_t C = s.CI;
  // The window's taps inside the image: rows r0 + [khLo, khHi), columns c0 + [kwLo, kwHi).
  const std::ptrdiff_t r0 = std::ptrdiff_t(oh * s.sh) - std::ptrdiff_t(s.top), c0 = std::ptrdiff_t(ow * s.sw) - std::ptrdiff_t(s.left);
  const std::ptrdiff_t khLo = std::max<std::ptrdiff_t>(0, -r0), khHi = std::min<std::ptrdiff_t>(s.KH, std::ptrdiff_t(s.H) - r0);
  const std::ptrdiff_t kwLo = std::max<std::ptrdiff_t>(0, -c0), kwHi = std::min<std::ptrdiff_t>(s.KW, std::ptrdiff_t(s.W) - c0);
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

}  // namespace

void maxPoolGrad(const float* x, const float* dy, float* dx, const ConvShape& s) {
  const std::size_t C = s.CI;
  std::fill(dx, dx + s.B * s.H * s.W * C, 0.f);
  std::size_t owLo = s.OW, owHi = s.OW;
#if defined(__AVX512F__)
  // Columns whose windows lie inside the image, when windows do not overlap; the heap's
  // floats fit 32-bit gather indices.
  std::vector<std::int32_t> column;
  if (s.sh >= s.KH && s.sw >= s.KW && s.B * s.H * s.W * C < (std::size_t(1) << 31)) {
    owLo = std::min(s.OW, (s.left + s.sw - 1) / s.sw);
    owHi = s.W + s.left >= s.KW ? std::min(s.OW, (s.W + s.left - s.KW) / s.sw + 1) : 0;
    owHi = std::max(owLo, owHi);
    column.resize(s.OW * C);
    for (std::size_t ow = owLo; ow < owHi; ++ow)
      for (std::size_t c = 0; c < C; ++c) column[ow * C + c] = std::int32_t((ow * s.sw - s.left) * C + c);
  }
#endif
  for (std::size_t b = 0; b < s.B; ++b)
    for (std::size_t oh = 0; oh < s.OH; ++oh) {
      const bool rowsInside = oh * s.sh >= s.top && oh * s.sh - s.top + s.KH <= s.H;
      const std::size_t lo = rowsInside ? owLo : s.OW, hi = rowsInside ? owHi : s.OW;
      for (std::size_t ow = 0; ow < lo; ++ow) poolWindow(x, dy, dx, s, b, oh, ow);
#if defined(__AVX512F__)
      if (lo < hi) poolRow(x, dy, dx, s, b, oh, lo, hi, column.data());
#endif
      for (std::size_t ow = std::max(lo, hi); ow < s.OW; ++ow) poolWindow(x, dy, dx, s, b, oh, ow);
    }
}

}  // namespace biocredit
