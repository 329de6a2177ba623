/*
 * random.cuh: seeded weights drawn on the device, matching src/eval/random.ts. A counter-based
 * generator: key = hash32(fnv1a(name) ^ hash32(seed)); uniform(i, j) = (hash32(key ^ hash32(2i + j)) + 0.5) / 2^32;
 * normal(i) = sqrt(-2 ln u(i,0)) cos(2 pi u(i,1)) (Box-Muller). Each element depends only on
 * (seed, name, i), so a 13B-parameter model fills in parallel in well under a second on a GPU.
 * init: std > 0 draws N(0, std^2); std == -1 fills ones; std == 0 fills zeros.
 */
#pragma once
#include "common.cuh"  // defines: parallel_for, st

namespace mc {

MC_HD inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
  return x;
}
inline uint32_t name_hash(const char* s) {
  uint32_t h = 0x811c9dc5u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x01000193u;
  return h;
}
MC_HD inline double uniform01(uint32_t key, i64 i, uint32_t j) {
  return ((double)hash32(key ^ hash32((uint32_t)(2 * (uint64_t)i + j))) + 0.5) / 4294967296.0;
}

template <class T>
void fill_random(Stream s, T* p, i64 n, const char* name, uint32_t seed, double stdev) {
  uint32_t key = hash32(name_hash(name) ^ hash32(seed));
  parallel_for(s, n, [=] MC_HD(i64 i) {
    double v;
    if (stdev == -1) v = 1;
    else if (stdev == 0) v = 0;
    else v = stdev * sqrt(-2 * log(uniform01(key, i, 0))) * cos(6.283185307179586 * uniform01(key, i, 1));
    st(p[i], (acc_t)v);
  });
}

}  // namespace mc
