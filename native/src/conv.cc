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
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

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

void maxPoolGrad(const float* x, const float* dy, float* dx, const ConvShape& s) {
  const std::size_t C = s.CI;
  std::fill(dx, dx + s.B * s.H * s.W * C, 0.f);
  for (std::size_t b = 0; b < s.B; ++b)
    for (std::size_t oh = 0; oh < s.OH; ++oh)
      for (std::size_t ow = 0; ow < s.OW; ++ow) {
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
}

}  // namespace biocredit
