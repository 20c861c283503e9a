#pragma once
// Run-time choice between the AVX-512 and AVX2 kernels (the binary's baseline is AVX2).

namespace tessera::kernels {

enum class Isa { avx2, avx512 };

// The ISA the dispatched kernels use: AVX-512 when the CPU has F/BW/VL/DQ, unless the
// environment variable TESSERA_ISA=avx2 (or set_isa) asks for the baseline.
Isa active_isa();
void set_isa(Isa isa);  // for tests and benchmarks; ignored if the CPU lacks it
const char* isa_name(Isa isa);

}  // namespace tessera::kernels
