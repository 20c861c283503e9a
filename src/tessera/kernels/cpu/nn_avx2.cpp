// The norm and cross-entropy kernels compiled for the AVX2 + FMA baseline.
#define TESSERA_ISA_NAMESPACE avx2
#include "tessera/kernels/cpu/nn_impl.h"

namespace tessera::kernels::avx2 {
TESSERA_INSTANTIATE_NN_KERNELS(float)
TESSERA_INSTANTIATE_NN_KERNELS(double)
}  // namespace tessera::kernels::avx2
