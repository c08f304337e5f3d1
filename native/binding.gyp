{
  "targets": [
    {
      "target_name": "biocredit_native",
      "sources": ["src/adam.cc", "src/addon.cc", "src/conv.cc", "src/conv-planes.cc", "src/gemm.cc", "src/pointwise.cc", "src/rate-rnn.cc", "src/rows.cc"],
      # The host's vector ISA (AVX-512 or AVX2), chosen when the addon is built on the
      # machine that runs it. GNU mode lets a*b+c contract to a fused multiply-add; no
      # -ffast-math, which would let the compiler reorder sums. -fno-math-errno only stops
      # sqrt from keeping a scalar path that sets errno, so its loops vectorise.
      "cflags_cc": ["-O3", "-march=native", "-std=gnu++17", "-fexceptions", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
