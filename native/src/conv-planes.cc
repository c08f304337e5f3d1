// Stride-1 convolutions with few channels, image positions in the vector lanes.
//
// im2col + GEMM puts output channels in the vector lanes, so LeNet's first layer
// (1 → 6 channels, 5×5) fills 6 of 16 lanes and spends its time building a patch
// matrix 25 times the image. Here each channel of the batch is laid out as one
// zero-padded plane: image after image, each Hp × Wp, position q = (b·Hp + r)·Wp + c.
// Filter tap (kh, kw) of output position q then reads plane position q + kh·Wp + kw,
// so a vector of consecutive positions is one unaligned load per tap and channel:
//   forward          y[q, co]       = Σ_{tap, ci} x[ci][q + off(tap)] · F[tap, ci, co]
//   input gradient   the same correlation of the padded dy planes with the filter
//                    rotated 180° and its channels swapped
//   filter gradient  dF[tap, ci, co] = Σ_q x[ci][q + off(tap)] · dy[co][q]
// Positions whose column or row lies past the output (the padding between images)
// are computed and dropped, or given a zero dy so they add nothing. Every sum runs
// in a fixed order, so results are the same bits on every call.
#include "conv-planes.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "gemm.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace biocredit {
namespace {

#if defined(__AVX512F__)
constexpr std::size_t L = 16;
#else
constexpr std::size_t L = 8;
#endif
typedef float V __attribute__((vector_size(L * sizeof(float))));

inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }

// Output channels (accumulators) per pass over the positions; 2·L positions per pass.
constexpr std::size_t CB = 8;
// Filter-gradient entries per pass: taps × output channels vector accumulators.
constexpr std::size_t FILTER_TAPS = 4, FILTER_CHANNELS = 4;
// Filter-gradient positions per chunk of whole images, so a chunk's dy and planes stay in cache.
constexpr std::size_t CHUNK = 64 * L;

// The planes of a batch and the output positions on them. Image b's plane starts at
// b·P; only its first `rows` rows hold outputs, so passes over positions cover
// [b·P, b·P + span) of each image, not the rows below (P and span are whole numbers
// of 2·L, so an image's passes never reach into the next image's).
struct Grid {
  std::size_t B, Hp, Wp;
  std::size_t rows, cols;  // output rows and columns at the top left of each image's plane
  std::size_t KH, KW;
  std::size_t P;       // floats from one image's plane to the next
  std::size_t span;    // positions computed per image
  std::size_t Q;       // B·P
  std::size_t stride;  // floats from one channel's planes to the next: Q plus the furthest tap
  Grid(std::size_t B, std::size_t Hp, std::size_t Wp, std::size_t rows, std::size_t cols, std::size_t KH, std::size_t KW)
      : B(B), Hp(Hp), Wp(Wp), rows(rows), cols(cols), KH(KH), KW(KW), P(roundUp(Hp * Wp)), span(roundUp(rows * Wp)), Q(B * P),
        stride(Q + (KH - 1) * Wp + KW - 1) {}
  std::ptrdiff_t offset(std::size_t tap) const { return std::ptrdiff_t(tap / KW * Wp + tap % KW); }
  static std::size_t roundUp(std::size_t n) { return (n + 2 * L - 1) / (2 * L) * (2 * L); }
};

thread_local std::unique_ptr<float, FreeDeleter> planeBuf, dyBuf, filterBuf, partialBuf;
thread_local std::size_t planeCap = 0, dyCap = 0, filterCap = 0, partialCap = 0;
thread_local std::unique_ptr<std::int32_t, FreeDeleter> targetBuf;
thread_local std::size_t targetCap = 0;

// dst[c·stride + j] = src[j·C + c] for j < n, c < C: one image row of C channels into its C planes.
void unzip(const float* __restrict src, std::size_t n, std::size_t C, float* __restrict dst, std::size_t stride) {
  if (C == 1) return void(std::copy_n(src, n, dst));
#if defined(__AVX512F__)
  // Strided loads as gathers, 16 positions of one channel at a time (a scalar loop was half of
  // LeNet's first filter gradient).
  const __m512i lane = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32(std::int32_t(C)));
  for (std::size_t j0 = 0; j0 < n; j0 += 16) {
    const __mmask16 m = n - j0 >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - j0)) - 1);
    for (std::size_t c = 0; c < C; ++c)
      _mm512_mask_storeu_ps(dst + c * stride + j0, m, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, lane, src + j0 * C + c, 4));
  }
#else
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t j = 0; j < n; ++j) dst[c * stride + j] = src[j * C + c];
#endif
}

// NHWC src [B, h, w, C] into C planes, its (0, 0) at plane row `top`, column `left`.
float* toPlanes(const float* src, std::size_t h, std::size_t w, std::size_t C, std::size_t top, std::size_t left, const Grid& g) {
  float* out = scratch(planeBuf, planeCap, C * g.stride);
  std::fill(out, out + C * g.stride, 0.f);
  for (std::size_t b = 0; b < g.B; ++b)
    for (std::size_t i = 0; i < h; ++i) unzip(src + (b * h + i) * w * C, w, C, out + b * g.P + (i + top) * g.Wp + left, g.stride);
  return out;
}

// For every computed position, the NHWC output position it is (−1: dropped).
const std::int32_t* targets(const Grid& g) {
  std::int32_t* t = scratch(targetBuf, targetCap, g.Q);
  std::fill(t, t + g.Q, -1);
  for (std::size_t b = 0; b < g.B; ++b)
    for (std::size_t r = 0; r < g.rows; ++r)
      for (std::size_t c = 0; c < g.cols; ++c) t[b * g.P + r * g.Wp + c] = std::int32_t((b * g.rows + r) * g.cols + c);
  return t;
}

// out[target(q), co0 : co0+W] = Σ_{ci, tap} in[ci][q + off(tap)] · f[tap, ci, co0 : co0+W] for every q.
template <std::size_t W>
void correlate(const float* in, std::size_t cin, const Grid& g, const float* f, std::size_t cout, std::size_t co0, const std::int32_t* target, float* out) {
  const std::size_t taps = g.KH * g.KW;
  std::vector<std::ptrdiff_t> off(taps);
  for (std::size_t t = 0; t < taps; ++t) off[t] = g.offset(t);
  for (std::size_t b = 0; b < g.B; ++b)
    for (std::size_t q0 = b * g.P; q0 < b * g.P + g.span; q0 += 2 * L) {
      V a0[W], a1[W];
      for (std::size_t c = 0; c < W; ++c) a0[c] = a1[c] = V{};
      for (std::size_t ci = 0; ci < cin; ++ci) {
        const float* plane = in + ci * g.stride + q0;
        for (std::size_t t = 0; t < taps; ++t) {
          const V x0 = load(plane + off[t]), x1 = load(plane + off[t] + L);
          const float* w = f + (t * cin + ci) * cout + co0;
          for (std::size_t c = 0; c < W; ++c) {
            a0[c] += x0 * w[c];
            a1[c] += x1 * w[c];
          }
        }
      }
#if defined(__AVX512F__)
      // Each channel's 16 positions scattered to their NHWC places (channels are interleaved there).
      for (std::size_t h = 0; h < 2; ++h) {
        const __m512i at = _mm512_loadu_si512(target + q0 + h * L);
        const __mmask16 kept = _mm512_cmpge_epi32_mask(at, _mm512_setzero_si512());
        const __m512i idx = _mm512_mullo_epi32(at, _mm512_set1_epi32(std::int32_t(cout)));
        for (std::size_t c = 0; c < W; ++c) _mm512_mask_i32scatter_ps(out + co0 + c, kept, idx, __m512(h ? a1[c] : a0[c]), 4);
      }
#else
      for (std::size_t l = 0; l < L; ++l) {
        if (target[q0 + l] >= 0)
          for (std::size_t c = 0; c < W; ++c) out[std::size_t(target[q0 + l]) * cout + co0 + c] = a0[c][l];
        if (target[q0 + L + l] >= 0)
          for (std::size_t c = 0; c < W; ++c) out[std::size_t(target[q0 + L + l]) * cout + co0 + c] = a1[c][l];
      }
#endif
    }
}

void correlateAll(const float* in, std::size_t cin, const Grid& g, const float* f, std::size_t cout, float* out) {
  const std::int32_t* target = targets(g);
  for (std::size_t co0 = 0; co0 < cout; co0 += CB) {
    switch (std::min(CB, cout - co0)) {
      case 1: correlate<1>(in, cin, g, f, cout, co0, target, out); break;
      case 2: correlate<2>(in, cin, g, f, cout, co0, target, out); break;
      case 3: correlate<3>(in, cin, g, f, cout, co0, target, out); break;
      case 4: correlate<4>(in, cin, g, f, cout, co0, target, out); break;
      case 5: correlate<5>(in, cin, g, f, cout, co0, target, out); break;
      case 6: correlate<6>(in, cin, g, f, cout, co0, target, out); break;
      case 7: correlate<7>(in, cin, g, f, cout, co0, target, out); break;
      default: correlate<8>(in, cin, g, f, cout, co0, target, out); break;
    }
  }
}

// The vector partial sums of filter-gradient entries (tap t0 + i, ci, co0 + c), i < T, c < W, over
// the computed positions of `images` images: x the first image's plane of channel ci, dy its dy of
// co0 (channels Q apart).
template <std::size_t T, std::size_t W>
void filterBlock(const float* x, const std::ptrdiff_t* off, const float* dy, const Grid& g, std::size_t images, float* partial, std::size_t tapStride) {
  V acc[T][W];
  for (std::size_t i = 0; i < T; ++i)
    for (std::size_t c = 0; c < W; ++c) acc[i][c] = load(partial + i * tapStride + c * L);
  for (std::size_t b = 0; b < images; ++b)
    for (std::size_t q = b * g.P; q < b * g.P + g.span; q += L) {
      // T shifted loads of x and W loads of dy feed T·W multiply-adds.
      V xs[T];
      for (std::size_t i = 0; i < T; ++i) xs[i] = load(x + q + off[i]);
      for (std::size_t c = 0; c < W; ++c) {
        const V d = load(dy + c * g.Q + q);
        for (std::size_t i = 0; i < T; ++i) acc[i][c] += xs[i] * d;
      }
    }
  for (std::size_t i = 0; i < T; ++i)
    for (std::size_t c = 0; c < W; ++c) store(partial + i * tapStride + c * L, acc[i][c]);
}

template <std::size_t T>
void filterBlockW(std::size_t w, const float* x, const std::ptrdiff_t* off, const float* dy, const Grid& g, std::size_t images, float* partial, std::size_t tapStride) {
  switch (w) {
    case 1: filterBlock<T, 1>(x, off, dy, g, images, partial, tapStride); break;
    case 2: filterBlock<T, 2>(x, off, dy, g, images, partial, tapStride); break;
    case 3: filterBlock<T, 3>(x, off, dy, g, images, partial, tapStride); break;
    default: filterBlock<T, 4>(x, off, dy, g, images, partial, tapStride); break;
  }
}

// Padding after the image that the output needs (negative: rows of the image no output reads).
std::ptrdiff_t after(std::size_t in, std::size_t out, std::size_t k, std::size_t before) {
  return std::ptrdiff_t(out + k - 1) - std::ptrdiff_t(in + before);
}

Grid forwardGrid(const ConvShape& s) {
  return Grid(s.B, std::max(s.H + s.top, s.OH + s.KH - 1), std::max(s.W + s.left, s.OW + s.KW - 1), s.OH, s.OW, s.KH, s.KW);
}

}  // namespace

bool planesFit(const ConvShape& s) {
  const auto within = [](std::size_t in, std::size_t out, std::size_t k, std::size_t before) {
    const std::ptrdiff_t a = after(in, out, k, before);
    return before < k && a < std::ptrdiff_t(k);
  };
  return s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && s.KH > 0 && s.KW > 0 && within(s.H, s.OH, s.KH, s.top) && within(s.W, s.OW, s.KW, s.left);
}

void conv2dPlanes(const float* x, const float* filter, float* y, const ConvShape& s) {
  const Grid g = forwardGrid(s);
  // The filter's [KH, KW, CI, CO] layout is already [tap, ci, co].
  correlateAll(toPlanes(x, s.H, s.W, s.CI, s.top, s.left, g), s.CI, g, filter, s.CO, y);
}

void conv2dBackpropInputPlanes(const float* dy, const float* filter, float* dx, const ConvShape& s) {
  // dx[i] = Σ_k dy[i − k + top] · F[k] = Σ_k' dyPadded[i + k'] · F[K − 1 − k'] with dy placed K − 1 − top into its plane.
  const Grid g(s.B, s.H + s.KH - 1, s.W + s.KW - 1, s.H, s.W, s.KH, s.KW);
  const std::size_t taps = s.KH * s.KW;
  float* rotated = scratch(filterBuf, filterCap, taps * s.CI * s.CO);
  for (std::size_t t = 0; t < taps; ++t)
    for (std::size_t ci = 0; ci < s.CI; ++ci)
      for (std::size_t co = 0; co < s.CO; ++co) rotated[(t * s.CO + co) * s.CI + ci] = filter[((taps - 1 - t) * s.CI + ci) * s.CO + co];
  correlateAll(toPlanes(dy, s.OH, s.OW, s.CO, s.KH - 1 - s.top, s.KW - 1 - s.left, g), s.CO, g, rotated, s.CI, dx);
}

void conv2dBackpropFilterPlanes(const float* x, const float* dy, float* dfilter, const ConvShape& s) {
  const Grid g = forwardGrid(s);
  const float* planes = toPlanes(x, s.H, s.W, s.CI, s.top, s.left, g);
  // dy as CO planes over the same positions, zero where a position is dropped.
  float* d = scratch(dyBuf, dyCap, s.CO * g.Q);
  std::fill(d, d + s.CO * g.Q, 0.f);
  for (std::size_t b = 0; b < s.B; ++b)
    for (std::size_t r = 0; r < s.OH; ++r) unzip(dy + (b * s.OH + r) * s.OW * s.CO, s.OW, s.CO, d + b * g.P + r * g.Wp, g.Q);
  const std::size_t taps = s.KH * s.KW, entries = taps * s.CI * s.CO;
  std::vector<std::ptrdiff_t> off(taps);
  for (std::size_t t = 0; t < taps; ++t) off[t] = g.offset(t);
  float* partial = scratch(partialBuf, partialCap, entries * L);
  std::fill(partial, partial + entries * L, 0.f);
  const std::size_t tapStride = s.CI * s.CO * L;
  const std::size_t step = std::max<std::size_t>(1, CHUNK / g.P);
  for (std::size_t b0 = 0; b0 < g.B; b0 += step) {
    const std::size_t images = std::min(step, g.B - b0), q0 = b0 * g.P;
    for (std::size_t ci = 0; ci < s.CI; ++ci)
      for (std::size_t t0 = 0; t0 < taps; t0 += FILTER_TAPS)
        for (std::size_t co0 = 0; co0 < s.CO; co0 += FILTER_CHANNELS) {
          const std::size_t w = std::min(FILTER_CHANNELS, s.CO - co0);
          float* p = partial + ((t0 * s.CI + ci) * s.CO + co0) * L;
          const float* xs = planes + ci * g.stride + q0;
          const float* ds = d + co0 * g.Q + q0;
          switch (std::min(FILTER_TAPS, taps - t0)) {
            case 1: filterBlockW<1>(w, xs, off.data() + t0, ds, g, images, p, tapStride); break;
            case 2: filterBlockW<2>(w, xs, off.data() + t0, ds, g, images, p, tapStride); break;
            case 3: filterBlockW<3>(w, xs, off.data() + t0, ds, g, images, p, tapStride); break;
            default: filterBlockW<4>(w, xs, off.data() + t0, ds, g, images, p, tapStride); break;
          }
        }
  }
  for (std::size_t e = 0; e < entries; ++e) {
    float sum = 0.f;
    for (std::size_t l = 0; l < L; ++l) sum += partial[e * L + l];
    dfilter[e] = sum;
  }
}

}  // namespace biocredit
