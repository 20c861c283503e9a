#include "tessera/core/parallel.h"

#include <cblas.h>
#include <omp.h>

namespace tessera {

namespace {
int g_threads = 0;
}

void set_num_threads(int threads) {
  if (threads <= 0) threads = omp_get_num_procs();
  g_threads = threads;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int num_threads() {
  if (g_threads == 0) g_threads = omp_get_max_threads();
  return g_threads;
}

}  // namespace tessera
