// Eight floats as one value (GCC and Clang vector extensions) and the few operations the fused
// CPU kernels build on. Each function is always inlined into the AVX-512, AVX2 and x86-64
// variants of its caller (a call would pass the vectors by another convention than the caller's
// registers); compiled without multiply-add contraction, every variant rounds alike.
#pragma once

#include <cstdint>
#include <cstring>

namespace aha::kernels::lanes {

#define AHA_LANES inline __attribute__((always_inline))

typedef float Lanes __attribute__((vector_size(32)));
typedef int32_t Ints __attribute__((vector_size(32)));

AHA_LANES Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

AHA_LANES void store(float* p, Lanes v) { std::memcpy(p, &v, sizeof v); }

AHA_LANES Lanes splat(float x) { return Lanes{x, x, x, x, x, x, x, x}; }

// The lanes summed as ((0+1)+(2+3))+((4+5)+(6+7)).
AHA_LANES float sum(Lanes v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

// exp(x) for x <= 0, elementwise: x = n ln2 + r with |r| <= ln2 / 2, a degree-7 polynomial for
// e^r, times 2^n built in the exponent bits; below -87 (under float's smallest normal) gives 0.
AHA_LANES Lanes exp_nonpositive(Lanes x) {
  const Lanes tiny = splat(-87.0f), shift = splat(12582912.0f);  // 1.5 * 2^23 rounds to an integer
  const Ints underflow = x < tiny;
  x = underflow ? tiny : x;
  const Lanes n = (x * splat(1.44269504f) + shift) - shift;
  const Lanes r = (x - n * splat(0.693359375f)) - n * splat(-2.12194440e-4f);
  Lanes p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = (p * (r * r) + r) + splat(1.0f);
  const Ints bits = (__builtin_convertvector(n, Ints) + 127) << 23;
  Lanes scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const Lanes e = p * scale;
  return underflow ? splat(0.0f) : e;
}

// 1 / (1 + exp(-x)) through the exponential of -|x| alone, which never overflows.
AHA_LANES Lanes sigmoid(Lanes x) {
  const Ints negative = x < splat(0.0f);
  const Lanes e = exp_nonpositive(negative ? x : -x);
  const Lanes one = splat(1.0f);
  return negative ? e / (one + e) : one / (one + e);
}

#undef AHA_LANES

}  // namespace aha::kernels::lanes
