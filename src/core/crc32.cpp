#include "core/crc32.hpp"

#include <algorithm>

#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace hyper {

namespace {

// Continues zlib's CRC from `crc` (zlib's convention: the finished value of the bytes so far).
uint32_t zlib_update(uint32_t crc, const std::byte* p, size_t n) {
  uLong c = crc;
  while (n > 0) {  // zlib takes a uInt length
    const auto chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

#if defined(__x86_64__)
// Folding with carry-less multiplication (Gopal et al., "Fast CRC computation for generic
// polynomials using PCLMULQDQ", Intel 2009). The constants are x^k mod P for the reflected
// CRC-32 polynomial: k1/k2 fold 512 bits, k3/k4 fold 128 bits, k5 folds 64 to 32 bits,
// then a Barrett reduction with mu = floor(x^64 / P) and P itself.
#define HYPER_CLMUL __attribute__((target("pclmul,sse4.1")))

HYPER_CLMUL inline __m128i fold_into(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

// `state` is the raw (inverted) CRC register; n >= 64 and a multiple of 16.
HYPER_CLMUL uint32_t fold_clmul(uint32_t state, const std::byte* p, size_t n) {
  const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
  const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
  const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);
  const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
  const __m128i mu_p = _mm_set_epi64x(0x1F7011641, 0x1DB710641);
  auto load = [](const std::byte* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };

  __m128i x1 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
  __m128i x2 = load(p + 16), x3 = load(p + 32), x4 = load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {  // four independent lanes keep the multiplier busy
    x1 = fold_into(x1, k1k2, load(p));
    x2 = fold_into(x2, k1k2, load(p + 16));
    x3 = fold_into(x3, k1k2, load(p + 32));
    x4 = fold_into(x4, k1k2, load(p + 48));
  }
  x1 = fold_into(x1, k3k4, x2);
  x1 = fold_into(x1, k3k4, x3);
  x1 = fold_into(x1, k3k4, x4);
  for (; n >= 16; p += 16, n -= 16) x1 = fold_into(x1, k3k4, load(p));

  x1 = _mm_xor_si128(_mm_clmulepi64_si128(k3k4, x1, 0x01), _mm_srli_si128(x1, 8));             // 128 -> 64
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k5, 0x00), _mm_srli_si128(x1, 4));  // 64 -> 32
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), mu_p, 0x10);                        // Barrett
  t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), mu_p, 0x00);
  return static_cast<uint32_t>(_mm_extract_epi32(_mm_xor_si128(x1, t), 1));
}

bool has_clmul() {
  static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return yes;
}
#endif

}  // namespace

uint32_t crc32_zlib(std::span<const std::byte> data) { return zlib_update(0, data.data(), data.size()); }

uint32_t crc32(std::span<const std::byte> data) {
#if defined(__x86_64__)
  if (data.size() >= 64 && has_clmul()) {
    const size_t bulk = data.size() & ~size_t{15};
    const uint32_t state = fold_clmul(0xFFFFFFFFu, data.data(), bulk);
    // zlib's crc argument is the inverted register: hand over and let it finish the tail.
    return zlib_update(~state, data.data() + bulk, data.size() - bulk);
  }
#endif
  return crc32_zlib(data);
}

}  // namespace hyper
