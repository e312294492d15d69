# The nginx dynamic module, built by CMake alone against Debian's nginx-dev.
#
# nginx-dev ships headers and the exact configure flags of the packaged binary
# but no .c files. nginx's configure is run once, at CMake time, only to
# generate ngx_auto_config.h / ngx_auto_headers.h for those flags: the module
# signature and the struct layouts then match /usr/sbin/nginx. The shim and a
# generated modules table are compiled as a CMake MODULE.
#
# Expects from the including file: target scepter_core, SCEPTER_MODULE_LINK_OPTIONS.

set(NGINX_SRC_DIR /usr/share/nginx/src CACHE PATH "nginx-dev source tree (headers + conf_flags)")
set(NGX_OBJS ${CMAKE_BINARY_DIR}/nginx-objs)

# Locate our own sources relative to this file, so the module can also be
# built from a wrapper project whose CMAKE_SOURCE_DIR is elsewhere.
get_filename_component(SCEPTER_NGX_ROOT ${CMAKE_CURRENT_LIST_DIR} DIRECTORY)
set(SCEPTER_NGX_DIR ${SCEPTER_NGX_ROOT}/modules/nginx)

if(NOT EXISTS ${NGINX_SRC_DIR}/conf_flags)
  message(FATAL_ERROR "nginx-dev is not installed (${NGINX_SRC_DIR}/conf_flags missing); "
                      "install it or configure with -DSCEPTER_NGINX=OFF")
endif()

# conf_flags, not a bare --with-compat: the latter matches the signature string
# but leaves NGX_DEBUG, NGX_THREADS, NGX_HTTP_SSL, NGX_HTTP_V2 different from
# Debian's binary, and the signature does not cover every struct layout.
# configure writes only into --builddir, so /usr/share/nginx/src stays untouched.
if(NOT EXISTS ${NGX_OBJS}/ngx_auto_config.h)
  message(STATUS "Running nginx configure (Debian flags) into ${NGX_OBJS}")
  execute_process(
    COMMAND bash -c ". ./conf_flags && ./configure \"\${NGX_CONF_FLAGS[@]}\" --with-cc-opt=-fPIC --builddir='${NGX_OBJS}'"
    WORKING_DIRECTORY ${NGINX_SRC_DIR}
    RESULT_VARIABLE ngx_configure_rc
    OUTPUT_FILE ${CMAKE_BINARY_DIR}/nginx-configure.log
    ERROR_FILE ${CMAKE_BINARY_DIR}/nginx-configure.log)
  if(NOT ngx_configure_rc EQUAL 0 OR NOT EXISTS ${NGX_OBJS}/ngx_auto_config.h)
    file(REMOVE ${NGX_OBJS}/ngx_auto_config.h)
    message(FATAL_ERROR "nginx configure failed, see ${CMAKE_BINARY_DIR}/nginx-configure.log")
  endif()
endif()

# What nginx's own build generates as objs/ngx_modules.c for a dynamic module.
# file(CONFIGURE) rewrites it only when the content changes (no needless rebuild).
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/ngx_http_scepter_module_modules.c CONTENT [=[
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t  ngx_http_scepter_module;

ngx_module_t *ngx_modules[] = {
    &ngx_http_scepter_module,
    NULL
};

char *ngx_module_names[] = {
    "ngx_http_scepter_module",
    NULL
};

char *ngx_module_order[] = {
    NULL
};
]=])

add_library(ngx_http_scepter_module MODULE
  ${SCEPTER_NGX_DIR}/ngx_http_scepter_module.c
  ${SCEPTER_NGX_DIR}/ngx_http_scepter_directives.c
  ${SCEPTER_NGX_DIR}/ngx_http_scepter_service.c
  ${SCEPTER_NGX_DIR}/ngx_http_scepter_handler.c
  ${SCEPTER_NGX_DIR}/ngx_http_scepter_response.c
  ${SCEPTER_NGX_DIR}/ngx_http_scepter_metrics.c
  ${CMAKE_BINARY_DIR}/ngx_http_scepter_module_modules.c)

# dlsym() must find the three table symbols: default visibility for the shim,
# the version script then keeps everything else local.
set_target_properties(ngx_http_scepter_module PROPERTIES
  PREFIX ""
  C_VISIBILITY_PRESET default
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/modules/nginx
  LINK_DEPENDS ${SCEPTER_NGX_DIR}/exports.map)

# Same include order as nginx's objs/Makefile.
target_include_directories(ngx_http_scepter_module PRIVATE
  ${NGINX_SRC_DIR}/src/core ${NGINX_SRC_DIR}/src/event ${NGINX_SRC_DIR}/src/event/modules
  ${NGINX_SRC_DIR}/src/os/unix ${NGX_OBJS}
  ${NGINX_SRC_DIR}/src/http ${NGINX_SRC_DIR}/src/http/modules ${NGINX_SRC_DIR}/src/http/v2)

# nginx's own warning set (auto/cc/gcc), -Werror included, as a module built
# by nginx's build system would get.
target_compile_options(ngx_http_scepter_module PRIVATE
  -W -Wall -Wpointer-arith -Wno-unused-parameter -Werror)

target_link_libraries(ngx_http_scepter_module PRIVATE scepter_core)
target_link_options(ngx_http_scepter_module PRIVATE ${SCEPTER_MODULE_LINK_OPTIONS}
  -Wl,--version-script=${SCEPTER_NGX_DIR}/exports.map)
