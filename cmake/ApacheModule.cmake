# The Apache httpd module, built by CMake against Debian's apache2-dev.
#
# apxs is only asked where things are: `apxs -c` goes through libtool, which
# drops --exclude-libs and the version script, so the result would export the
# core's and libstdc++'s symbols (GNU_UNIQUE ones included, which glibc never
# unloads: a graceful restart could then keep old code).
#
# Expects from the including file: target scepter_core, SCEPTER_MODULE_LINK_OPTIONS.

find_program(APXS NAMES apxs apxs2)
find_program(APR_CONFIG NAMES apr-1-config)
if(NOT APXS OR NOT APR_CONFIG)
  message(FATAL_ERROR "apache2-dev is not installed (apxs / apr-1-config missing); "
                      "install it or configure with -DSCEPTER_APACHE=OFF")
endif()

execute_process(COMMAND ${APXS} -q INCLUDEDIR
                OUTPUT_VARIABLE APACHE_INCLUDE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${APXS} -q LIBEXECDIR
                OUTPUT_VARIABLE APACHE_MODULE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${APR_CONFIG} --includedir
                OUTPUT_VARIABLE APR_INCLUDE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
# -DLINUX -D_REENTRANT -D_GNU_SOURCE: what httpd itself was compiled with.
execute_process(COMMAND ${APR_CONFIG} --cppflags
                OUTPUT_VARIABLE APR_CPPFLAGS OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(APR_CPPFLAGS UNIX_COMMAND "${APR_CPPFLAGS}")
set(APACHE_MODULE_DIR ${APACHE_MODULE_DIR} CACHE PATH "where httpd's own modules are (mod_mpm_*.so)")

# Our sources relative to this file, as in NginxModule.cmake.
get_filename_component(SCEPTER_APACHE_ROOT ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
set(SCEPTER_APACHE_DIR ${SCEPTER_APACHE_ROOT}/modules/apache)

add_library(mod_scepter MODULE
  ${SCEPTER_APACHE_DIR}/mod_scepter.c
  ${SCEPTER_APACHE_DIR}/mod_scepter_handler.c
  ${SCEPTER_APACHE_DIR}/mod_scepter_metrics.c)

# dlsym() must find scepter_module: default visibility for the shim (the
# project default is hidden), the version script keeps everything else local.
set_target_properties(mod_scepter PROPERTIES
  PREFIX ""
  C_VISIBILITY_PRESET default
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/modules/apache
  LINK_DEPENDS ${SCEPTER_APACHE_DIR}/exports.map)

target_include_directories(mod_scepter PRIVATE ${APACHE_INCLUDE_DIR} ${APR_INCLUDE_DIR})
target_compile_options(mod_scepter PRIVATE ${APR_CPPFLAGS}
  -Wall -Wextra -Wno-unused-parameter -Wpointer-arith -Wmissing-prototypes -Wstrict-prototypes)

# No -lapr-1 / -laprutil-1: httpd has them loaded when it dlopen()s us.
target_link_libraries(mod_scepter PRIVATE scepter_core)
target_link_options(mod_scepter PRIVATE ${SCEPTER_MODULE_LINK_OPTIONS}
  -Wl,--version-script=${SCEPTER_APACHE_DIR}/exports.map)
