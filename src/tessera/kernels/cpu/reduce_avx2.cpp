// The reduction and softmax kernels compiled for the AVX2 + FMA baseline.
#define TESSERA_ISA_NAMESPACE avx2
#include "tessera/kernels/cpu/reduce_impl.h"

namespace tessera::kernels::avx2 {
TESSERA_INSTANTIATE_REDUCE_KERNELS(float)
TESSERA_INSTANTIATE_REDUCE_KERNELS(double)
}  // namespace tessera::kernels::avx2
