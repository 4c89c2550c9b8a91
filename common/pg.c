/* placeholder: being written */
#include "pg.h"
