/* placeholder: being written */
#include "copyfmt.h"
