#include "actors/memory_tuning.hpp"

#include <malloc.h>

namespace dirscope {

void tune_malloc() noexcept {
  // Setting either turns off glibc's dynamic thresholds; both are set.
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

} // namespace dirscope
