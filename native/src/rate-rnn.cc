// A continuous-time rate RNN over a whole trial, the way models/rnn.ts
// integrates it (Euler, α = dt/τ), in one call each way instead of a dozen tfjs
// kernels per time step:
//
//   x_{t+1} = (1 − α) x_t + α (r_t J + d_t) + ξ_t,   r_t = f(x_t),
//
// with d_t = u_t W_in + b and ξ_t the recurrent noise computed by the caller.
// Backward (δ_t = ∂L/∂x_t through every later step, g_t the gradients that
// reach x_t and r_t directly from the outputs):
//
//   δ_T = g_T,   δ_t = g_t + (1 − α) δ_{t+1} + f'(x_t) ⊙ (α δ_{t+1} Jᵀ),
//   ∂L/∂d_t = α δ_{t+1},   ∂L/∂J = Σ_t r_tᵀ (α δ_{t+1}),   ∂L/∂x_0 = δ_0 (without g_0).
//
// Truncation every k steps drops the terms through x_t when t is a positive
// multiple of k (the model's stop-gradient). Every product is the packed GEMM;
// loops run in a fixed order, so results are the same bits on every call.
#include "rate-rnn.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gemm.h"

namespace biocredit {
namespace {

// expm1(r) for |r| ≤ ln2 by its Taylor series to r⁹/9! (truncation below 1e-8 relative).
inline float expm1Small(float r) {
  return r * (1.f + r * (1.f / 2 + r * (1.f / 6 + r * (1.f / 24 + r * (1.f / 120 + r * (1.f / 720 + r * (1.f / 5040 + r * (1.f / 40320 + r * (1.f / 362880)))))))));
}

// expm1(x) without a library call, so loops over it vectorise: x = n ln2 + r with
// |r| ≤ ln2/2 (ln2 split in two so the reduction is exact), then
// e^x − 1 = (2ⁿ − 1) + 2ⁿ expm1(r), 2ⁿ from the exponent bits. Arguments are
// clamped to [−87, 88], where 2ⁿ stays a normal float; NaN stays NaN.
inline float expm1Fast(float x) {
  x = std::min(std::max(x, -87.f), 88.f);
  const float shift = 12582912.f;  // 1.5 · 2²³: adding and subtracting it rounds to the nearest integer
  const float n = (x * 1.44269504088896341f + shift) - shift;
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return (scale - 1.f) + scale * expm1Small(r);
}

template <Activation F>
inline float apply(float x) {
  if constexpr (F == Activation::Linear) return x;
  if constexpr (F == Activation::Relu) return x > 0.f ? x : 0.f;
  if constexpr (F == Activation::Tanh) {
    // tanh |x| = −e / (2 + e) with e = expm1(−2|x|), from the series up to |2x| = ln2 (no
    // cancellation); within 3.5 ulp of tanh (measured against double precision), vectorised.
    const float m = -2.f * std::fabs(x);
    const float near = expm1Small(m), far = expm1Fast(m);
    const float e = m > -0.6931471806f ? near : far;
    return std::copysign(-e / (2.f + e), x);
  }
  if constexpr (F == Activation::Sigmoid) return 1.f / (2.f + expm1Fast(-x));
  if constexpr (F == Activation::Softplus) {
    // tfjs's cut-offs.
    const float threshold = std::log(1.1920928955078125e-7f) + 2.f;
    if (x < threshold) return std::exp(x);
    if (x > -threshold) return x;
    return std::log(1.f + std::exp(x));
  }
  return x;
}

// f'(x) given x and r = f(x).
template <Activation F>
inline float slope(float x, float r) {
  if constexpr (F == Activation::Linear) return 1.f;
  if constexpr (F == Activation::Relu) return x > 0.f ? 1.f : 0.f;
  if constexpr (F == Activation::Tanh) return 1.f - r * r;
  if constexpr (F == Activation::Sigmoid) return r * (1.f - r);
  if constexpr (F == Activation::Softplus) return 1.f / (2.f + expm1Fast(-x));
  return 1.f;
}

template <Activation F>
void forward(const float* x0, const float* J, const float* d, const float* xi, float* xs, float* rs, const RateRnnShape& s) {
  const std::size_t BN = s.B * s.N;
  const float keep = 1.f - s.alpha, alpha = s.alpha;
  std::vector<float> r0(BN), h(BN);
  for (std::size_t i = 0; i < BN; ++i) r0[i] = apply<F>(x0[i]);
  const PackedMatrix packedJ(J, s.N, s.N, false);
  for (std::size_t t = 0; t < s.T; ++t) {
    const float* x = t == 0 ? x0 : xs + (t - 1) * BN;
    const float* r = t == 0 ? r0.data() : rs + (t - 1) * BN;
    gemm(r, packedJ, h.data(), s.B, false);
    float* __restrict next = xs + t * BN;
    float* __restrict rate = rs + t * BN;
    const float* __restrict dt = d + t * BN;
    const float* __restrict noise = xi ? xi + t * BN : nullptr;
    for (std::size_t i = 0; i < BN; ++i) next[i] = keep * x[i] + alpha * (h[i] + dt[i]);
    if (noise)
      for (std::size_t i = 0; i < BN; ++i) next[i] += noise[i];
    for (std::size_t i = 0; i < BN; ++i) rate[i] = apply<F>(next[i]);
  }
}

template <Activation F>
void backward(const float* x0, const float* J, const float* xs, const float* rs, const float* dxs, const float* drs, float* dd, float* dJ, float* dx0,
              const RateRnnShape& s) {
  const std::size_t BN = s.B * s.N;
  const float keep = 1.f - s.alpha, alpha = s.alpha;
  std::vector<float> delta(BN), back(BN), r0(BN);
  for (std::size_t i = 0; i < BN; ++i) r0[i] = apply<F>(x0[i]);
  const PackedMatrix packedJt(J, s.N, s.N, true);
  // δ_T: what reaches the last state directly.
  const std::size_t last = (s.T - 1) * BN;
  for (std::size_t i = 0; i < BN; ++i) delta[i] = dxs[last + i] + slope<F>(xs[last + i], rs[last + i]) * drs[last + i];
  for (std::size_t t = s.T; t-- > 0;) {
    // δ holds δ_{t+1}.
    float* ddt = dd + t * BN;
    for (std::size_t i = 0; i < BN; ++i) ddt[i] = alpha * delta[i];
    const bool cut = s.truncate > 0 && t > 0 && t % s.truncate == 0;
    const float* x = t == 0 ? x0 : xs + (t - 1) * BN;
    const float* r = t == 0 ? r0.data() : rs + (t - 1) * BN;
    if (cut) std::fill(delta.begin(), delta.end(), 0.f);
    else {
      gemm(ddt, packedJt, back.data(), s.B, false);
      for (std::size_t i = 0; i < BN; ++i) delta[i] = keep * delta[i] + slope<F>(x[i], r[i]) * back[i];
    }
    // x_0 is an input, not an output: no direct gradient reaches it.
    if (t > 0) {
      const float* gx = dxs + (t - 1) * BN;
      const float* gr = drs + (t - 1) * BN;
      for (std::size_t i = 0; i < BN; ++i) delta[i] += gx[i] + slope<F>(x[i], r[i]) * gr[i];
    }
  }
  std::memcpy(dx0, delta.data(), BN * sizeof(float));
  // ∂L/∂J = Σ_t r_tᵀ (α δ_{t+1}): r_0 = f(x_0), then r_1 … r_{T−1} = rs[0 … T−2], one product over all later steps.
  gemm(r0.data(), dd, dJ, 1, s.N, s.N, s.B, true, false, 0, 0);
  gemm(rs, dd + BN, dJ, 1, s.N, s.N, (s.T - 1) * s.B, true, false, 0, 0, true);
}

template <template <Activation> class Call, typename... Args>
void dispatch(Activation f, Args&&... args) {
  switch (f) {
    case Activation::Linear:
      return Call<Activation::Linear>::run(args...);
    case Activation::Relu:
      return Call<Activation::Relu>::run(args...);
    case Activation::Tanh:
      return Call<Activation::Tanh>::run(args...);
    case Activation::Sigmoid:
      return Call<Activation::Sigmoid>::run(args...);
    case Activation::Softplus:
      return Call<Activation::Softplus>::run(args...);
  }
}

template <Activation F>
struct Forward {
  template <typename... Args>
  static void run(Args... args) {
    forward<F>(args...);
  }
};

template <Activation F>
struct Backward {
  template <typename... Args>
  static void run(Args... args) {
    backward<F>(args...);
  }
};

}  // namespace

void rateRnnForward(const float* x0, const float* J, const float* d, const float* xi, float* xs, float* rs, const RateRnnShape& s) {
  dispatch<Forward>(s.f, x0, J, d, xi, xs, rs, s);
}

void rateRnnBackward(const float* x0, const float* J, const float* xs, const float* rs, const float* dxs, const float* drs, float* dd, float* dJ, float* dx0,
                     const RateRnnShape& s) {
  if (s.T == 0) {
    std::memset(dJ, 0, s.N * s.N * sizeof(float));
    std::memset(dx0, 0, s.B * s.N * sizeof(float));
    return;
  }
  dispatch<Backward>(s.f, x0, J, xs, rs, dxs, drs, dd, dJ, dx0, s);
}

}  // namespace biocredit
