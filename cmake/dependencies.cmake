# dependencies.cmake: every library comes from a Debian -dev package
# (scripts/bootstrap.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(PostgreSQL REQUIRED)
# libcrypto: HMAC-SHA256 for FERRY/1's challenge-response (common/wire/auth.c).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
pkg_check_modules(CZMQ REQUIRED IMPORTED_TARGET libczmq)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)
pkg_check_modules(MSGPACK REQUIRED IMPORTED_TARGET msgpack)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)
pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
