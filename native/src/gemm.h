// Single-precision matrix products for the wasm backend's heap (see gemm.cc).
#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace biocredit {

// C = op(A) · op(B) for `batch` row-major products, C [M, N] overwritten.
// op(A) is [M, K]: A stored [M, K], or [K, M] when transA. op(B) is [K, N]: B stored
// [K, N], or [N, K] when transB. Consecutive products start strideA / strideB floats
// apart (0: one matrix shared by the whole batch); C's are M·N apart. With
// `accumulate`, the products are added to C instead.
void gemm(const float* a, const float* b, float* c, std::size_t batch, std::size_t M, std::size_t N, std::size_t K, bool transA, bool transB,
          std::size_t strideA, std::size_t strideB, bool accumulate = false);

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A scratch buffer of at least n elements, 64-byte aligned, kept in `buf` between calls
// (grown when n exceeds `cap`); throws std::bad_alloc when it cannot grow.
template <typename T>
T* scratch(std::unique_ptr<T, FreeDeleter>& buf, std::size_t& cap, std::size_t n) {
  if (n > cap) {
    buf.reset(static_cast<T*>(std::aligned_alloc(64, ((n * sizeof(T) + 63) / 64) * 64)));
    cap = buf ? n : 0;
    if (!buf) throw std::bad_alloc();
  }
  return buf.get();
}

// op(B) [K, N] packed once for many products with it (a recurrent weight used at
// every time step): the same panels gemm packs on every call.
struct PackedMatrix {
  PackedMatrix(const float* b, std::size_t K, std::size_t N, bool transB);
  std::size_t K, N;
  std::unique_ptr<float, FreeDeleter> data;
};

// C [M, N] = (or += with `accumulate`) op(A) · B for a packed B; bit-identical to the unpacked gemm.
void gemm(const float* a, const PackedMatrix& b, float* c, std::size_t M, bool transA, bool accumulate = false);

}  // namespace biocredit
