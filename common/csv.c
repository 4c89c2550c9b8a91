/* placeholder: being written */
#include "csv.h"
