/* placeholder: being written */
#include "retry.h"
