# warnings.cmake: one INTERFACE target that carries the warning flags and the
# feature macros; every ferry target links it PRIVATE, so nothing is global.
add_library(ferry_warnings INTERFACE)
target_compile_options(ferry_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wpointer-arith -Wformat=2 -Wno-unused-parameter)
# czmq, libpq and pthreads need POSIX/GNU declarations under -std=c11.
target_compile_definitions(ferry_warnings INTERFACE _GNU_SOURCE)
if(FERRY_WERROR)
  target_compile_options(ferry_warnings INTERFACE -Werror)
endif()
