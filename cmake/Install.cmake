# `cmake --install`: the layout Debian uses for its own web-server modules,
# relative to CMAKE_INSTALL_PREFIX so other distributions (and a staging
# prefix) can use it as is. debian/ builds the packages on top of this.
#
# The module directories are not GNUInstallDirs' LIBDIR: nginx and httpd look
# in fixed, non-multiarch places (/usr/lib/nginx/modules, the `modules/` that
# `load_module` resolves against, and apxs's LIBEXECDIR).

set(SCEPTER_NGINX_MODULE_INSTALL_DIR lib/nginx/modules CACHE STRING
    "Where the nginx module goes (relative: under the install prefix)")
set(SCEPTER_APACHE_MODULE_INSTALL_DIR lib/apache2/modules CACHE STRING
    "Where the Apache httpd module goes (relative: under the install prefix)")
set(SCEPTER_POLICY_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/scepter/policies CACHE STRING
    "Where the shipped Lua policies go")

install(TARGETS scepter RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Modules are dlopen()ed, not run: 0644, as nginx's and httpd's own.
set(SCEPTER_MODULE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

if(TARGET ngx_http_scepter_module)
  install(TARGETS ngx_http_scepter_module LIBRARY DESTINATION ${SCEPTER_NGINX_MODULE_INSTALL_DIR}
          PERMISSIONS ${SCEPTER_MODULE_PERMISSIONS})
endif()
if(TARGET mod_scepter)
  install(TARGETS mod_scepter LIBRARY DESTINATION ${SCEPTER_APACHE_MODULE_INSTALL_DIR}
          PERMISSIONS ${SCEPTER_MODULE_PERMISSIONS})
endif()

install(DIRECTORY ${CMAKE_SOURCE_DIR}/policies/ DESTINATION ${SCEPTER_POLICY_INSTALL_DIR}
        FILES_MATCHING PATTERN "*.lua")
install(FILES ${CMAKE_SOURCE_DIR}/examples/scepter.yaml ${CMAKE_SOURCE_DIR}/examples/scepter.logrotate
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Man pages, when written: docs/man/NAME.SECTION.
file(GLOB SCEPTER_MAN_PAGES ${CMAKE_SOURCE_DIR}/docs/man/*.[1-8])
foreach(page IN LISTS SCEPTER_MAN_PAGES)
  string(REGEX MATCH "[1-8]$" section ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
