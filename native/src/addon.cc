// N-API entry points. Every kernel computes in place on float32 data inside one
// ArrayBuffer (the wasm backend's heap), addressed by byte offsets; the caller
// passes the heap's current buffer right before the call (it is replaced when
// the heap grows). Arguments are checked here so a wrong call throws a JS error
// instead of touching memory outside the buffer.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <string>
#include <vector>

#include "adam.h"
#include "conv.h"
#include "gemm.h"
#include "pointwise.h"
#include "rate-rnn.h"
#include "rows.h"

namespace {

struct Fail {
  std::string message;
};

void check(napi_status status, const char* what) {
  if (status != napi_ok) throw Fail{std::string("biocredit native: cannot read ") + what};
}

// A byte range [start, end) of the heap one operand spans.
struct Range {
  double start, end;
};

// One call's arguments: argv[0] is the heap, the rest numbers and flags read by position.
struct Call {
  napi_env env;
  std::vector<napi_value> argv;
  unsigned char* base = nullptr;
  std::size_t length = 0;

  Call(napi_env e, napi_callback_info info, std::size_t expected, const char* name) : env(e), argv(expected) {
    std::size_t argc = expected;
    check(napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr), "arguments");
    if (argc != expected) throw Fail{std::string("biocredit native: ") + name + " takes " + std::to_string(expected) + " arguments"};
    bool isBuffer = false;
    check(napi_is_arraybuffer(env, argv[0], &isBuffer), "heap");
    if (!isBuffer) throw Fail{"biocredit native: the heap must be an ArrayBuffer"};
    bool detached = false;
    check(napi_is_detached_arraybuffer(env, argv[0], &detached), "heap");
    if (detached) throw Fail{"biocredit native: the heap buffer is detached (the wasm memory grew; pass its current buffer)"};
    void* data = nullptr;
    check(napi_get_arraybuffer_info(env, argv[0], &data, &length), "heap");
    base = static_cast<unsigned char*>(data);
  }

  double number(std::size_t i, const char* name) const {
    double d;
    if (napi_get_value_double(env, argv[i], &d) != napi_ok || !std::isfinite(d) || d < 0 || d != std::floor(d) || d > 9007199254740991.0)
      throw Fail{std::string("biocredit native: ") + name + " must be a nonnegative integer"};
    return d;
  }

  std::size_t size(std::size_t i, const char* name) const { return static_cast<std::size_t>(number(i, name)); }

  double real(std::size_t i, const char* name) const {
    double d;
    if (napi_get_value_double(env, argv[i], &d) != napi_ok || !std::isfinite(d)) throw Fail{std::string("biocredit native: ") + name + " must be a finite number"};
    return d;
  }

  bool flag(std::size_t i, const char* name) const {
    bool b;
    if (napi_get_value_bool(env, argv[i], &b) != napi_ok) throw Fail{std::string("biocredit native: ") + name + " must be a boolean"};
    return b;
  }

  // The byte offset at argv[i] of an operand `floats` long, checked to be 4-byte aligned and inside the heap.
  Range operand(std::size_t i, double floats, const char* name) const {
    const double off = number(i, name);
    if (std::fmod(off, 4.0) != 0) throw Fail{"biocredit native: offsets must be multiples of 4 bytes"};
    const Range r{off, off + 4.0 * floats};
    if (r.end > length) throw Fail{"biocredit native: an operand lies outside the heap"};
    return r;
  }

  float* at(const Range& r) const { return reinterpret_cast<float*>(base + static_cast<std::size_t>(r.start)); }
};

// An output must not share bytes with any input (the kernels read inputs while writing it).
void apart(const Range& out, std::initializer_list<Range> inputs) {
  for (const Range& in : inputs)
    if (out.start < in.end && in.start < out.end && out.end > out.start && in.end > in.start) throw Fail{"biocredit native: the output overlaps an input"};
}

template <typename F>
napi_value guarded(napi_env env, F f) {
  try {
    f();
  } catch (const Fail& fail) {
    napi_throw_error(env, nullptr, fail.message.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "biocredit native: out of memory for scratch buffers");
  }
  return nullptr;
}

// gemm(heap, aOffset, bOffset, cOffset, batch, M, N, K, transA, transB, strideA, strideB): see gemm.h;
// offsets in bytes, strides in floats.
napi_value Gemm(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 12, "gemm");
    const double batch = c.number(4, "batch"), M = c.number(5, "M"), N = c.number(6, "N"), K = c.number(7, "K");
    const bool transA = c.flag(8, "transA"), transB = c.flag(9, "transB");
    const double strideA = c.number(10, "strideA"), strideB = c.number(11, "strideB");
    const double last = batch > 0 ? batch - 1 : 0;
    const Range a = c.operand(1, last * strideA + M * K, "aOffset"), b = c.operand(2, last * strideB + K * N, "bOffset");
    const Range out = c.operand(3, batch * M * N, "cOffset");
    apart(out, {a, b});
    biocredit::gemm(c.at(a), c.at(b), c.at(out), static_cast<std::size_t>(batch), static_cast<std::size_t>(M), static_cast<std::size_t>(N),
                    static_cast<std::size_t>(K), transA, transB, static_cast<std::size_t>(strideA), static_cast<std::size_t>(strideB));
  });
}

// The geometry at argv[at..at+14]: B, H, W, CI, OH, OW, CO, KH, KW, sh, sw, dh, dw, top, left.
biocredit::ConvShape convShape(const Call& c, std::size_t at) {
  const char* names[] = {"B", "H", "W", "CI", "OH", "OW", "CO", "KH", "KW", "strideHeight", "strideWidth", "dilationHeight", "dilationWidth", "top", "left"};
  std::size_t v[15];
  for (std::size_t i = 0; i < 15; ++i) v[i] = c.size(at + i, names[i]);
  biocredit::ConvShape s{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (s.sh == 0 || s.sw == 0 || s.dh == 0 || s.dw == 0) throw Fail{"biocredit native: strides and dilations must be positive"};
  return s;
}

// The three tensors of a convolution kernel, by what they hold.
enum class Holds { Image, Filter, Output };

double floats(Holds h, const biocredit::ConvShape& s) {
  switch (h) {
    case Holds::Image:
      return double(s.B) * s.H * s.W * s.CI;
    case Holds::Filter:
      return double(s.KH) * s.KW * s.CI * s.CO;
    case Holds::Output:
      return double(s.B) * s.OH * s.OW * s.CO;
  }
  return 0;
}

// name(heap, in0Offset, in1Offset, outOffset, ...geometry): out = kernel(in0, in1).
template <void (*Kernel)(const float*, const float*, float*, const biocredit::ConvShape&)>
napi_value convCall(napi_env env, napi_callback_info info, const char* name, Holds in0, Holds in1, Holds out, bool keepsChannels = false) {
  return guarded(env, [&] {
    Call c(env, info, 19, name);
    const auto s = convShape(c, 4);
    if (keepsChannels && s.CI != s.CO) throw Fail{std::string("biocredit native: ") + name + " keeps the channels (CI must equal CO)"};
    const Range a = c.operand(1, floats(in0, s), "input offset"), b = c.operand(2, floats(in1, s), "input offset");
    const Range y = c.operand(3, floats(out, s), "output offset");
    apart(y, {a, b});
    Kernel(c.at(a), c.at(b), c.at(y), s);
  });
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  return convCall<biocredit::conv2d>(env, info, "conv2d", Holds::Image, Holds::Filter, Holds::Output);
}
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return convCall<biocredit::conv2dBackpropInput>(env, info, "conv2dBackpropInput", Holds::Output, Holds::Filter, Holds::Image);
}
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return convCall<biocredit::conv2dBackpropFilter>(env, info, "conv2dBackpropFilter", Holds::Image, Holds::Output, Holds::Filter);
}
// The window is KH × KW.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return convCall<biocredit::maxPoolGrad>(env, info, "maxPoolGrad", Holds::Image, Holds::Output, Holds::Image, true);
}

// maxPool(heap, xOffset, yOffset, ...geometry): the window is KH × KW.
napi_value MaxPool(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 18, "maxPool");
    const auto s = convShape(c, 3);
    if (s.CI != s.CO) throw Fail{"biocredit native: maxPool keeps the channels (CI must equal CO)"};
    const Range x = c.operand(1, floats(Holds::Image, s), "xOffset"), y = c.operand(2, floats(Holds::Output, s), "yOffset");
    apart(y, {x});
    biocredit::maxPool(c.at(x), c.at(y), s);
  });
}

// relu(heap, x, out, n), step(heap, x, out, n, alpha), multiply(heap, a, b, out, n).
napi_value Relu(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 4, "relu");
    const double n = c.number(3, "n");
    const Range x = c.operand(1, n, "xOffset"), out = c.operand(2, n, "outOffset");
    apart(out, {x});
    biocredit::relu(c.at(x), c.at(out), static_cast<std::size_t>(n));
  });
}

napi_value Step(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 5, "step");
    const double n = c.number(3, "n");
    const Range x = c.operand(1, n, "xOffset"), out = c.operand(2, n, "outOffset");
    apart(out, {x});
    biocredit::step(c.at(x), c.at(out), static_cast<std::size_t>(n), static_cast<float>(c.real(4, "alpha")));
  });
}

napi_value Multiply(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 5, "multiply");
    const double n = c.number(4, "n");
    const Range a = c.operand(1, n, "aOffset"), b = c.operand(2, n, "bOffset"), out = c.operand(3, n, "outOffset");
    apart(out, {a, b});
    biocredit::multiply(c.at(a), c.at(b), c.at(out), static_cast<std::size_t>(n));
  });
}

biocredit::RateRnnShape rateRnnShape(const Call& c, std::size_t at) {
  const std::size_t T = c.size(at, "T"), B = c.size(at + 1, "B"), N = c.size(at + 2, "N");
  const double alpha = c.real(at + 3, "alpha");
  if (!(alpha > 0 && alpha <= 1)) throw Fail{"biocredit native: alpha must be in (0, 1]"};
  const std::size_t f = c.size(at + 4, "activation");
  if (f > 4) throw Fail{"biocredit native: activation must be 0 (linear), 1 (relu), 2 (tanh), 3 (sigmoid) or 4 (softplus)"};
  return {T, B, N, static_cast<float>(alpha), static_cast<biocredit::Activation>(f), 0};
}

// rateRnnForward(heap, x0, J, d, xi, xs, rs, T, B, N, alpha, activation, hasNoise): offsets in bytes; xi is read only with hasNoise.
napi_value RateRnnForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 13, "rateRnnForward");
    const auto s = rateRnnShape(c, 7);
    const bool noisy = c.flag(12, "hasNoise");
    const double bn = double(s.B) * s.N, seq = s.T * bn;
    const Range x0 = c.operand(1, bn, "x0Offset"), J = c.operand(2, double(s.N) * s.N, "JOffset"), d = c.operand(3, seq, "dOffset");
    const Range xi = noisy ? c.operand(4, seq, "xiOffset") : Range{0, 0};
    const Range xs = c.operand(5, seq, "xsOffset"), rs = c.operand(6, seq, "rsOffset");
    apart(xs, {x0, J, d, xi, rs});
    apart(rs, {x0, J, d, xi});
    biocredit::rateRnnForward(c.at(x0), c.at(J), c.at(d), noisy ? c.at(xi) : nullptr, c.at(xs), c.at(rs), s);
  });
}

// rateRnnBackward(heap, x0, J, xs, rs, dxs, drs, dd, dJ, dx0, T, B, N, alpha, activation, truncate)
napi_value RateRnnBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 16, "rateRnnBackward");
    auto s = rateRnnShape(c, 10);
    s.truncate = c.size(15, "truncate");
    const double bn = double(s.B) * s.N, seq = s.T * bn, nn = double(s.N) * s.N;
    const Range x0 = c.operand(1, bn, "x0Offset"), J = c.operand(2, nn, "JOffset"), xs = c.operand(3, seq, "xsOffset"), rs = c.operand(4, seq, "rsOffset");
    const Range dxs = c.operand(5, seq, "dxsOffset"), drs = c.operand(6, seq, "drsOffset");
    const Range dd = c.operand(7, seq, "ddOffset"), dJ = c.operand(8, nn, "dJOffset"), dx0 = c.operand(9, bn, "dx0Offset");
    for (const Range& out : {dd, dJ, dx0}) apart(out, {x0, J, xs, rs, dxs, drs});
    apart(dd, {dJ, dx0});
    apart(dJ, {dx0});
    biocredit::rateRnnBackward(c.at(x0), c.at(J), c.at(xs), c.at(rs), c.at(dxs), c.at(drs), c.at(dd), c.at(dJ), c.at(dx0), s);
  });
}

// adam(heap, x, g, m, v, c1, c2, x1, m1, v1, n, lr, beta1, beta2, epsilon): offsets in bytes; c1, c2 the
// float32 scalars 1 − β1^t, 1 − β2^t; x1, m1, v1 the new values (n floats each).
napi_value Adam(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 15, "adam");
    const double n = c.number(10, "n");
    const Range x = c.operand(1, n, "xOffset"), g = c.operand(2, n, "gOffset"), m = c.operand(3, n, "mOffset"), v = c.operand(4, n, "vOffset");
    const Range c1 = c.operand(5, 1, "c1Offset"), c2 = c.operand(6, 1, "c2Offset");
    const Range x1 = c.operand(7, n, "x1Offset"), m1 = c.operand(8, n, "m1Offset"), v1 = c.operand(9, n, "v1Offset");
    for (const Range& out : {x1, m1, v1}) apart(out, {x, g, m, v, c1, c2});
    apart(x1, {m1, v1});
    apart(m1, {v1});
    const biocredit::AdamSettings s{c.real(11, "lr"), c.real(12, "beta1"), c.real(13, "beta2"), c.real(14, "epsilon"), *c.at(c1), *c.at(c2)};
    biocredit::adam(c.at(x), c.at(g), c.at(m), c.at(v), c.at(x1), c.at(m1), c.at(v1), static_cast<std::size_t>(n), s);
  });
}

// addRow(heap, x, b, out, rows, C): out = x + b, b [C] added to every row of x [rows, C].
napi_value AddRow(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 6, "addRow");
    const double rows = c.number(4, "rows"), C = c.number(5, "C");
    const Range x = c.operand(1, rows * C, "xOffset"), b = c.operand(2, C, "bOffset"), out = c.operand(3, rows * C, "outOffset");
    apart(out, {x, b});
    biocredit::addRow(c.at(x), c.at(b), c.at(out), static_cast<std::size_t>(rows), static_cast<std::size_t>(C));
  });
}

// sumRows(heap, x, out, rows, C): out [C] = the sum of the rows of x [rows, C].
napi_value SumRows(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Call c(env, info, 5, "sumRows");
    const double rows = c.number(3, "rows"), C = c.number(4, "C");
    const Range x = c.operand(1, rows * C, "xOffset"), out = c.operand(2, C, "outOffset");
    apart(out, {x});
    biocredit::sumRows(c.at(x), c.at(out), static_cast<std::size_t>(rows), static_cast<std::size_t>(C));
  });
}

// sumSquares(heap, x, n): Σ x[i]² over n floats, as a double.
napi_value SumSquares(napi_env env, napi_callback_info info) {
  napi_value result = nullptr;
  guarded(env, [&] {
    Call c(env, info, 3, "sumSquares");
    const double n = c.number(2, "n");
    check(napi_create_double(env, biocredit::sumSquares(c.at(c.operand(1, n, "xOffset")), static_cast<std::size_t>(n)), &result), "the result");
  });
  return result;
}

// The vector width the addon was built for, so `biocredit info` can say which kernels run.
napi_value Isa(napi_env env, napi_callback_info) {
#if defined(__AVX512F__)
  const char* isa = "avx512";
#elif defined(__AVX2__)
  const char* isa = "avx2";
#else
  const char* isa = "generic";
#endif
  napi_value s;
  napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &s);
  return s;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"relu", nullptr, Relu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"step", nullptr, Step, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"multiply", nullptr, Multiply, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rateRnnForward", nullptr, RateRnnForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rateRnnBackward", nullptr, RateRnnBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addRow", nullptr, AddRow, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumSquares", nullptr, SumSquares, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"isa", nullptr, Isa, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
