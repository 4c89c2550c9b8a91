# ferry_test(NAME): registers tests/unit/NAME.c as one ctest (nng_test
# style), linked with ferry_common, the coordinator's pure modules
# (plan, chunktab), the worker's (ferry_worker_core: all but main.c) and
# cmocka, with a timeout.
function(ferry_test name)
  add_executable(${name} ${name}.c)
  target_link_libraries(${name} PRIVATE ferry_coordinator_core ferry_worker_core ferry_common ferry_warnings PkgConfig::CMOCKA)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES TIMEOUT 300 LABELS unit)
endfunction()

# ferry_integration_test(NAME [LABELS ...] [TIMEOUT s]): registers the bash
# scenario tests/integration/NAME.sh, run against real PostgreSQL clusters
# started by tests/lib/pg.sh, with the build's binaries on PATH.
function(ferry_integration_test name)
  cmake_parse_arguments(FIT "" "TIMEOUT;DIR" "LABELS" ${ARGN})
  if(NOT FIT_TIMEOUT)
    set(FIT_TIMEOUT 300)
  endif()
  if(NOT FIT_DIR)
    set(FIT_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  add_test(NAME ${name} COMMAND bash ${FIT_DIR}/${name}.sh)
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${FIT_TIMEOUT}
    LABELS "integration;${FIT_LABELS}"
    ENVIRONMENT "FERRY_BIN_DIR=${CMAKE_BINARY_DIR};FERRY_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
