// The norm and cross-entropy kernels compiled for AVX-512 (F/BW/VL/DQ; entered only after the CPU
// check in dispatch.cpp).
#define TESSERA_ISA_NAMESPACE avx512
#include "tessera/kernels/cpu/nn_impl.h"

namespace tessera::kernels::avx512 {
TESSERA_INSTANTIATE_NN_KERNELS(float)
TESSERA_INSTANTIATE_NN_KERNELS(double)
}  // namespace tessera::kernels::avx512
