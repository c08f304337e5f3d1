// A blocked, packed single-precision matrix product (the Goto/BLIS layout):
// op(B) is packed into panels of KC rows × NR columns and op(A) into slivers of
// MR rows × KC, so the inner kernel streams both from cache and keeps an
// MR × NR tile of C in vector registers. The vector width is the build host's
// (AVX-512: 16 floats, otherwise 8), written with GCC vector extensions so the
// compiler emits fused multiply-adds for the ISA it targets.
//
// Every element of C is summed over k in the same order on every call (k in
// blocks of KC, in order), so results are deterministic for a given build.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace biocredit {
namespace {

#if defined(__AVX512F__)
constexpr int L = 16;
constexpr int MR = 8;
#else
constexpr int L = 8;
constexpr int MR = 6;
#endif
constexpr int NR = 2 * L;
typedef float V __attribute__((vector_size(L * sizeof(float))));

constexpr std::size_t KC = 256;
constexpr std::size_t MC = 16 * MR;
constexpr std::size_t NC = 64 * NR;

struct Operand {
  const float* p;
  std::size_t rows, cols;  // of op(X)
  bool trans;
  float at(std::size_t r, std::size_t c) const { return trans ? p[c * rows + r] : p[r * cols + c]; }
};

// op(A)[i0 : i0+mc, k0 : k0+kc] into MR-row slivers, k-major within a sliver, zero-padded.
void packA(const Operand& A, std::size_t i0, std::size_t mc, std::size_t k0, std::size_t kc, float* out) {
  for (std::size_t s = 0; s < mc; s += MR) {
    const std::size_t rows = std::min<std::size_t>(MR, mc - s);
    float* sliver = out + s * kc;
    if (!A.trans) {
      // Read each row of A contiguously.
      for (std::size_t i = 0; i < rows; ++i) {
        const float* src = A.p + (i0 + s + i) * A.cols + k0;
        for (std::size_t k = 0; k < kc; ++k) sliver[k * MR + i] = src[k];
      }
      for (std::size_t i = rows; i < MR; ++i)
        for (std::size_t k = 0; k < kc; ++k) sliver[k * MR + i] = 0.f;
      continue;
    }
    for (std::size_t k = 0; k < kc; ++k) {
      float* dst = sliver + k * MR;
      for (std::size_t i = 0; i < rows; ++i) dst[i] = A.at(i0 + s + i, k0 + k);
      for (std::size_t i = rows; i < MR; ++i) dst[i] = 0.f;
    }
  }
}

// op(B)[k0 : k0+kc, j0 : j0+nc] into NR-column panels, row-major within a panel, zero-padded.
void packB(const Operand& B, std::size_t k0, std::size_t kc, std::size_t j0, std::size_t nc, float* out) {
  for (std::size_t s = 0; s < nc; s += NR) {
    const std::size_t cols = std::min<std::size_t>(NR, nc - s);
    for (std::size_t k = 0; k < kc; ++k) {
      float* dst = out + s * kc + k * NR;
      if (!B.trans && cols == NR) {
        std::memcpy(dst, B.p + (k0 + k) * B.cols + j0 + s, NR * sizeof(float));
        continue;
      }
      for (std::size_t j = 0; j < cols; ++j) dst[j] = B.at(k0 + k, j0 + s + j);
      for (std::size_t j = cols; j < NR; ++j) dst[j] = 0.f;
    }
  }
}

// C[0:mr, 0:nr] (row stride ldc) = or += the product of one A sliver and one B panel over kc.
// A tile at most L columns wide (a narrow C, e.g. a convolution's few channels) only needs the first half.
template <bool Narrow>
void accumulateTile(std::size_t kc, const float* a, const float* b, V (&acc)[MR][2]) {
  for (std::size_t k = 0; k < kc; ++k) {
    const V b0 = *reinterpret_cast<const V*>(b + k * NR);
    const V b1 = Narrow ? V{} : *reinterpret_cast<const V*>(b + k * NR + L);
    const float* ak = a + k * MR;
    for (int i = 0; i < MR; ++i) {
      acc[i][0] += b0 * ak[i];
      if (!Narrow) acc[i][1] += b1 * ak[i];
    }
  }
}

void tile(std::size_t kc, const float* a, const float* b, float* c, std::size_t ldc, std::size_t mr, std::size_t nr, bool accumulate) {
  V acc[MR][2] = {};
  if (nr <= std::size_t(L)) accumulateTile<true>(kc, a, b, acc);
  else accumulateTile<false>(kc, a, b, acc);
  for (std::size_t i = 0; i < mr; ++i) {
    float* row = c + i * ldc;
    if (nr == NR) {
      for (int h = 0; h < 2; ++h) {
        V v = acc[i][h];
        if (accumulate) {
          V old;
          std::memcpy(&old, row + h * L, sizeof(V));
          v += old;
        }
        std::memcpy(row + h * L, &v, sizeof(V));
      }
      continue;
    }
    for (std::size_t j = 0; j < nr; ++j) {
      const float v = acc[i][j / L][j % L];
      row[j] = accumulate ? row[j] + v : v;
    }
  }
}

thread_local std::unique_ptr<float, FreeDeleter> bufA, bufB;
thread_local std::size_t capA = 0, capB = 0;

std::size_t panelFloats(std::size_t kc, std::size_t nc) { return kc * ((nc + NR - 1) / NR) * NR; }

// C = or += op(A) · op(B); `packed` holds op(B)'s panels in this loop's order (PackedMatrix) or is null.
void one(const Operand& A, const Operand& B, const float* packed, float* c, std::size_t M, std::size_t N, std::size_t K, bool accumulate) {
  if (K == 0) {
    if (!accumulate) std::fill(c, c + M * N, 0.f);
    return;
  }
  float* pa = scratch(bufA, capA, MC * KC);
  float* pb = packed ? nullptr : scratch(bufB, capB, panelFloats(KC, std::min(NC, N)));
  for (std::size_t j0 = 0; j0 < N; j0 += NC) {
    const std::size_t nc = std::min(NC, N - j0);
    for (std::size_t k0 = 0; k0 < K; k0 += KC) {
      const std::size_t kc = std::min(KC, K - k0);
      const float* panel = packed;
      if (packed) packed += panelFloats(kc, nc);
      else {
        packB(B, k0, kc, j0, nc, pb);
        panel = pb;
      }
      for (std::size_t i0 = 0; i0 < M; i0 += MC) {
        const std::size_t mc = std::min(MC, M - i0);
        packA(A, i0, mc, k0, kc, pa);
        for (std::size_t js = 0; js < nc; js += NR)
          for (std::size_t is = 0; is < mc; is += MR)
            tile(kc, pa + is * kc, panel + js * kc, c + (i0 + is) * N + j0 + js, N, std::min<std::size_t>(MR, mc - is), std::min<std::size_t>(NR, nc - js), accumulate || k0 > 0);
      }
    }
  }
}

}  // namespace

void gemm(const float* a, const float* b, float* c, std::size_t batch, std::size_t M, std::size_t N, std::size_t K, bool transA, bool transB,
          std::size_t strideA, std::size_t strideB, bool accumulate) {
  for (std::size_t n = 0; n < batch; ++n)
    one(Operand{a + n * strideA, M, K, transA}, Operand{b + n * strideB, K, N, transB}, nullptr, c + n * M * N, M, N, K, accumulate);
}

PackedMatrix::PackedMatrix(const float* b, std::size_t K, std::size_t N, bool transB) : K(K), N(N) {
  std::size_t total = 0;
  for (std::size_t j0 = 0; j0 < N; j0 += NC)
    for (std::size_t k0 = 0; k0 < K; k0 += KC) total += panelFloats(std::min(KC, K - k0), std::min(NC, N - j0));
  data.reset(static_cast<float*>(std::aligned_alloc(64, ((std::max<std::size_t>(total, 1) * sizeof(float) + 63) / 64) * 64)));
  if (!data) throw std::bad_alloc();
  const Operand B{b, K, N, transB};
  float* out = data.get();
  for (std::size_t j0 = 0; j0 < N; j0 += NC)
    for (std::size_t k0 = 0; k0 < K; k0 += KC) {
      const std::size_t kc = std::min(KC, K - k0), nc = std::min(NC, N - j0);
      packB(B, k0, kc, j0, nc, out);
      out += panelFloats(kc, nc);
    }
}

void gemm(const float* a, const PackedMatrix& b, float* c, std::size_t M, bool transA, bool accumulate) {
  one(Operand{a, M, b.K, transA}, Operand{nullptr, b.K, b.N, false}, b.data.get(), c, M, b.N, b.K, accumulate);
}

}  // namespace biocredit
