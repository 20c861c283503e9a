#include "tessera/kernels/cpu/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace tessera::kernels {

namespace {

bool cpu_has_avx512() {
  // The AVX-512 files are compiled with F, BW, VL and DQ (CMakeLists.txt), so all four must exist.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

Isa detect_isa() {
  const char* requested = std::getenv("TESSERA_ISA");
  if (requested && std::strcmp(requested, "avx2") == 0) return Isa::avx2;
  return cpu_has_avx512() ? Isa::avx512 : Isa::avx2;
}

// Decided once, on first use; set_isa may change it later (tests, benchmarks).
std::atomic<Isa>& current_isa() {
  static std::atomic<Isa> isa{detect_isa()};
  return isa;
}

}  // namespace

Isa active_isa() {
  return current_isa().load(std::memory_order_relaxed);
}

void set_isa(Isa isa) {
  if (isa == Isa::avx512 && !cpu_has_avx512()) return;
  current_isa().store(isa, std::memory_order_relaxed);
}

const char* isa_name(Isa isa) {
  return isa == Isa::avx512 ? "avx512" : "avx2";
}

}  // namespace tessera::kernels
