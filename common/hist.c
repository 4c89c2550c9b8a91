/* placeholder: being written */
#include "hist.h"
