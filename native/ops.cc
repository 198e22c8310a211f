#include "ops.h"

namespace pw {}  // namespace pw
