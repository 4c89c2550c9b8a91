/* placeholder: being written */
#include "validate.h"
