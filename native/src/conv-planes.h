// Stride-1 convolutions with few channels, computed with image positions in the
// vector lanes (see conv-planes.cc). conv.cc chooses them over im2col + GEMM.
#pragma once
#include "conv.h"

namespace biocredit {

// Whether the plane kernels compute this geometry: stride 1, no dilation, and
// padding within the filter's extent (so the input gradient is a correlation too).
bool planesFit(const ConvShape& s);

void conv2dPlanes(const float* x, const float* filter, float* y, const ConvShape& s);
void conv2dBackpropInputPlanes(const float* dy, const float* filter, float* dx, const ConvShape& s);
void conv2dBackpropFilterPlanes(const float* x, const float* dy, float* dfilter, const ConvShape& s);

}  // namespace biocredit
