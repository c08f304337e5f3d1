// N-API entry points. Every kernel computes in place on float32 data inside one
// ArrayBuffer (the wasm backend's heap), addressed by byte offsets; the caller
// passes the heap's current buffer right before the call (it is replaced when
// the heap grows). Arguments are checked here so a wrong call throws a JS error
// instead of touching memory outside the buffer.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <new>
#include <string>

#include "gemm.h"

namespace {

struct Fail {
  std::string message;
};

void check(napi_status status, const char* what) {
  if (status != napi_ok) throw Fail{std::string("biocredit native: cannot read ") + what};
}

double number(napi_env env, napi_value v, const char* name) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !std::isfinite(d) || d < 0 || d != std::floor(d) || d > 9007199254740991.0)
    throw Fail{std::string("biocredit native: ") + name + " must be a nonnegative integer"};
  return d;
}

bool flag(napi_env env, napi_value v, const char* name) {
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) throw Fail{std::string("biocredit native: ") + name + " must be a boolean"};
  return b;
}

// gemm(heap, aOffset, bOffset, cOffset, batch, M, N, K, transA, transB, strideA, strideB): see gemm.h;
// offsets in bytes, strides in floats.
napi_value Gemm(napi_env env, napi_callback_info info) {
  try {
    size_t argc = 12;
    napi_value argv[12];
    check(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "arguments");
    if (argc != 12) throw Fail{"biocredit native: gemm takes 12 arguments"};
    bool isBuffer = false;
    check(napi_is_arraybuffer(env, argv[0], &isBuffer), "heap");
    if (!isBuffer) throw Fail{"biocredit native: the heap must be an ArrayBuffer"};
    bool detached = false;
    check(napi_is_detached_arraybuffer(env, argv[0], &detached), "heap");
    if (detached) throw Fail{"biocredit native: the heap buffer is detached (the wasm memory grew; pass its current buffer)"};
    void* data = nullptr;
    size_t length = 0;
    check(napi_get_arraybuffer_info(env, argv[0], &data, &length), "heap");
    const double offA = number(env, argv[1], "aOffset"), offB = number(env, argv[2], "bOffset"), offC = number(env, argv[3], "cOffset");
    const double batch = number(env, argv[4], "batch"), M = number(env, argv[5], "M"), N = number(env, argv[6], "N"), K = number(env, argv[7], "K");
    const bool transA = flag(env, argv[8], "transA"), transB = flag(env, argv[9], "transB");
    const double strideA = number(env, argv[10], "strideA"), strideB = number(env, argv[11], "strideB");
    for (double off : {offA, offB, offC})
      if (std::fmod(off, 4.0) != 0) throw Fail{"biocredit native: offsets must be multiples of 4 bytes"};
    // Byte ranges [start, end) each operand spans; all inside the buffer, C apart from A and B.
    auto end = [&](double off, double stride, double size) { return off + 4.0 * ((batch > 0 ? batch - 1 : 0) * stride + size); };
    const double endA = end(offA, strideA, M * K), endB = end(offB, strideB, K * N), endC = offC + 4.0 * batch * M * N;
    if (endA > length || endB > length || endC > length) throw Fail{"biocredit native: an operand lies outside the heap"};
    if ((offC < endA && offA < endC) || (offC < endB && offB < endC)) throw Fail{"biocredit native: the output overlaps an input"};
    auto* base = static_cast<unsigned char*>(data);
    biocredit::gemm(reinterpret_cast<const float*>(base + static_cast<size_t>(offA)), reinterpret_cast<const float*>(base + static_cast<size_t>(offB)),
                    reinterpret_cast<float*>(base + static_cast<size_t>(offC)), static_cast<size_t>(batch), static_cast<size_t>(M), static_cast<size_t>(N),
                    static_cast<size_t>(K), transA, transB, static_cast<size_t>(strideA), static_cast<size_t>(strideB));
    return nullptr;
  } catch (const Fail& f) {
    napi_throw_error(env, nullptr, f.message.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "biocredit native: out of memory for packing buffers");
  }
  return nullptr;
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
      {"isa", nullptr, Isa, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
