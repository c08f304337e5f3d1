// Convolutions and max-pool gradients on NHWC float32 data (see conv.cc).
#pragma once
#include <cstddef>

namespace biocredit {

// The geometry of one 2-D convolution, as tfjs computes it (computeConv2DInfo):
// x [B, H, W, CI], filter [KH, KW, CI, CO], y [B, OH, OW, CO]; output (oh, ow)
// and filter tap (kh, kw) read input row oh·sh + kh·dh − top, column
// ow·sw + kw·dw − left (zero outside the image).
struct ConvShape {
  std::size_t B, H, W, CI, OH, OW, CO, KH, KW, sh, sw, dh, dw, top, left;
};

// y = conv2d(x, filter).
void conv2d(const float* x, const float* filter, float* y, const ConvShape& s);
// dx = ∂/∂x of Σ y ⊙ dy, overwriting dx.
void conv2dBackpropInput(const float* dy, const float* filter, float* dx, const ConvShape& s);
// dfilter = ∂/∂filter of Σ y ⊙ dy, overwriting dfilter.
void conv2dBackpropFilter(const float* x, const float* dy, float* dfilter, const ConvShape& s);

// Max pooling: the largest input of each window, NaN skipped and −∞ for a window
// without taps (as tfjs's CPU backend). KH, KW are the window, sh, sw its strides; CI = CO = C.
void maxPool(const float* x, float* y, const ConvShape& s);
// Max pooling's input gradient: each output gradient goes to the first maximum of
// its window (row-major within the window), as tfjs's CPU backend routes it,
// negative maxima included. KH, KW are the window, sh, sw its strides; CI = CO = C.
void maxPoolGrad(const float* x, const float* dy, float* dx, const ConvShape& s);

}  // namespace biocredit
