/* placeholder: being written */
#include "protocol.h"
