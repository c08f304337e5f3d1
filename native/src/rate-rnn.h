// A rate RNN's whole trial, forward and backward (see rate-rnn.cc).
#pragma once
#include <cstddef>

namespace biocredit {

enum class Activation { Linear = 0, Relu = 1, Tanh = 2, Sigmoid = 3, Softplus = 4 };

struct RateRnnShape {
  std::size_t T, B, N;
  float alpha;
  Activation f;
  // Cut the gradient through the state every `truncate` steps (0: never), as truncated BPTT does.
  std::size_t truncate;
};

// x_{t+1} = (1 − α) x_t + α (f(x_t) J + d_t) + ξ_t for t = 0 … T−1, time-major:
// x0 [B, N], J [N, N], d and ξ [T, B, N] (ξ may be null); writes xs[t] = x_{t+1}
// and rs[t] = f(x_{t+1}), both [T, B, N].
void rateRnnForward(const float* x0, const float* J, const float* d, const float* xi, float* xs, float* rs, const RateRnnShape& s);

// The gradients of a loss given dxs = ∂L/∂xs and drs = ∂L/∂rs (the forward's
// outputs, [T, B, N]): dd = ∂L/∂d [T, B, N], dJ = ∂L/∂J [N, N], dx0 = ∂L/∂x0 [B, N].
// (∂L/∂ξ = dd / α.)
void rateRnnBackward(const float* x0, const float* J, const float* xs, const float* rs, const float* dxs, const float* drs, float* dd, float* dJ, float* dx0,
                     const RateRnnShape& s);

}  // namespace biocredit
