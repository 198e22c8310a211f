// Memory-bound kernels (elementwise, reductions, resampling) threaded over the pool.
#pragma once
#include <cstdint>

namespace pw {}  // namespace pw
