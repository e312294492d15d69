# Lua 5.4 for the policy engine: target `scepter_lua`, static, PIC, hidden,
# compiled as C++.
#
# Why from source: Debian's liblua5.4.a is not PIC, and the shared liblua5.4
# clashes with ngx_lua's LuaJIT (and mod_lua's 5.3) once nginx/httpd dlopen()
# our module RTLD_GLOBAL. Built in, hidden and behind --exclude-libs,ALL, our
# Lua is invisible to the other modules (docs: build-recipe §6).
#
# Why Debian's source package: it is 5.4.4 plus Debian's security patches, and
# apt verifies it against the signed archive index. It is fetched at configure
# time into the build tree, never committed, and fetched once: re-configures
# reuse the extracted tree. apt uses a private sources/lists/cache dir under the
# build tree, so the system's apt state is not touched (root not required).
#
# Why C++: lua_error() then unwinds as a C++ exception instead of longjmp, so
# destructors of C++ locals in our Lua C functions run.
#
# Options:
#   SCEPTER_LUA_SOURCE_DIR   an already extracted Lua 5.4 tree (has src/lua.h):
#                            offline builds; nothing is fetched.
#   SCEPTER_LUA_DEB_VERSION  pin the Debian version (e.g. 5.4.4-3+deb12u1);
#                            empty: the newest the sources offer.
#   SCEPTER_LUA_APT_SOURCES  the apt sources file to derive deb-src entries
#                            from: *.sources is deb822, anything else the
#                            one-line format. Empty: the system's
#                            /etc/apt/sources.list.d/debian.sources, else
#                            /etc/apt/sources.list.
#
# Needs: apt-get and dpkg-source (package dpkg-dev, part of build-essential).

set(SCEPTER_LUA_SOURCE_DIR "" CACHE PATH "Extracted Lua 5.4 source tree; empty: fetch Debian's lua5.4 source package")
set(SCEPTER_LUA_DEB_VERSION "" CACHE STRING "Debian version of lua5.4 to fetch; empty: newest")
set(SCEPTER_LUA_APT_SOURCES "" CACHE FILEPATH "apt sources file for the deb-src entries; empty: the system's")

set(_lua_work ${CMAKE_BINARY_DIR}/_deps/lua5.4)

# Writes deb-src twins of the Debian sources into DIR/parts. The deb822
# format (bookworm's default) is copied stanza by stanza with its Types
# turned into deb-src, keeping URIs, suites and Signed-By. The one-line
# format keeps only lines whose URI looks like a Debian archive: third-party
# repositories (often without deb-src) would only make `update` fail.
function(_scepter_lua_deb822_to_src file dir)
  file(READ ${file} text)
  string(REGEX REPLACE "(^|\n)[Tt]ypes:[^\n]*" "\\1Types: deb-src" text "${text}")
  file(WRITE ${dir}/parts/debian-src.sources "${text}")
endfunction()

function(_scepter_lua_oneline_to_src file dir)
  file(STRINGS ${file} lines REGEX "^[ \t]*deb[ \t]")
  set(text "")
  foreach(line IN LISTS lines)
    if(line MATCHES "debian")
      string(REGEX REPLACE "^[ \t]*deb[ \t]" "deb-src " line "${line}")
      string(APPEND text "${line}\n")
    endif()
  endforeach()
  if(text STREQUAL "")
    message(FATAL_ERROR "FetchLua: ${file} has no Debian archive line to derive deb-src from")
  endif()
  file(WRITE ${dir}/parts/debian-src.list "${text}")
endfunction()

function(_scepter_lua_write_sources dir)
  set(file ${SCEPTER_LUA_APT_SOURCES})
  if(NOT file)
    set(file /etc/apt/sources.list.d/debian.sources)
    if(NOT EXISTS ${file})
      set(file /etc/apt/sources.list)
    endif()
  endif()
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "FetchLua: no apt sources (${file}); pass -DSCEPTER_LUA_APT_SOURCES=<file> "
                        "or -DSCEPTER_LUA_SOURCE_DIR=<extracted lua5.4 source>")
  endif()
  file(MAKE_DIRECTORY ${dir}/parts)
  if(file MATCHES "\\.sources$")
    _scepter_lua_deb822_to_src(${file} ${dir})
  else()
    _scepter_lua_oneline_to_src(${file} ${dir})
  endif()
endfunction()

# Runs one step, appending its output to the log; fails with the log's path.
function(_scepter_lua_step what log)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out
                  WORKING_DIRECTORY ${_lua_work}/download)
  list(JOIN ARGN " " cmdline)
  file(APPEND ${log} "\$ ${cmdline}\n${out}\n")
  if(NOT rc EQUAL 0)
    string(STRIP "${out}" out)
    message(FATAL_ERROR "FetchLua: ${what} failed (exit ${rc}):\n${out}\n(log: ${log})\n"
      "The build fetches Debian's lua5.4 source package at configure time: it needs "
      "the Debian archive reachable by apt, apt-get and dpkg-source (dpkg-dev). "
      "Offline, pass -DSCEPTER_LUA_SOURCE_DIR=<an extracted lua5.4 source tree>.")
  endif()
endfunction()

function(_scepter_fetch_lua out_dir)
  find_program(SCEPTER_APT_GET apt-get)
  find_program(SCEPTER_DPKG_SOURCE dpkg-source)
  if(NOT SCEPTER_APT_GET OR NOT SCEPTER_DPKG_SOURCE)
    message(FATAL_ERROR "FetchLua: apt-get and dpkg-source are needed (apt-get install dpkg-dev), "
                        "or pass -DSCEPTER_LUA_SOURCE_DIR=<extracted lua5.4 source>")
  endif()
  set(apt ${_lua_work}/apt)
  set(log ${_lua_work}/fetch.log)
  file(REMOVE_RECURSE ${apt} ${_lua_work}/download ${out_dir})
  file(MAKE_DIRECTORY ${apt}/lists/partial ${apt}/cache/archives/partial ${_lua_work}/download)
  file(WRITE ${log} "")
  _scepter_lua_write_sources(${apt})
  # Private state only; APT::Sandbox::User=root because the _apt user cannot
  # write into a root-owned build tree (no effect when not run as root).
  set(opts -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${apt}/parts
           -o Dir::State::Lists=${apt}/lists -o Dir::Cache=${apt}/cache
           -o Dir::Cache::archives=${apt}/cache/archives -o APT::Sandbox::User=root)
  set(pkg lua5.4)
  if(SCEPTER_LUA_DEB_VERSION)
    set(pkg lua5.4=${SCEPTER_LUA_DEB_VERSION})
  endif()
  message(STATUS "FetchLua: fetching Debian's ${pkg} source package (log: ${log})")
  _scepter_lua_step("apt-get update (deb-src indexes)" ${log} ${SCEPTER_APT_GET} ${opts} update --error-on=any)
  _scepter_lua_step("apt-get source ${pkg}" ${log} ${SCEPTER_APT_GET} ${opts} source --download-only ${pkg})
  file(GLOB dsc ${_lua_work}/download/lua5.4_*.dsc)
  list(LENGTH dsc n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "FetchLua: expected one lua5.4 .dsc in ${_lua_work}/download, found: ${dsc}")
  endif()
  # dpkg-source warns that it cannot check the .dsc's signature (no Debian
  # keyring installed); the files were already verified by apt against the
  # Sources index of the signed InRelease, and dpkg-source checks their hashes.
  _scepter_lua_step("dpkg-source -x" ${log} ${SCEPTER_DPKG_SOURCE} -x ${dsc} ${out_dir})
  if(NOT EXISTS ${out_dir}/src/lua.h)
    message(FATAL_ERROR "FetchLua: ${out_dir} has no src/lua.h after extraction; see ${log}")
  endif()
  file(REMOVE_RECURSE ${apt})   # the indexes (about 10 MB) are not needed any more
  # Written last: a configure interrupted mid-extraction fetches again.
  file(WRITE ${out_dir}/.scepter-fetched "${dsc}\n")
  message(STATUS "FetchLua: extracted ${dsc} into ${out_dir}")
endfunction()

if(SCEPTER_LUA_SOURCE_DIR)
  set(SCEPTER_LUA_DIR ${SCEPTER_LUA_SOURCE_DIR})
  if(NOT EXISTS ${SCEPTER_LUA_DIR}/src/lua.h)
    message(FATAL_ERROR "SCEPTER_LUA_SOURCE_DIR=${SCEPTER_LUA_DIR} has no src/lua.h")
  endif()
else()
  set(SCEPTER_LUA_DIR ${_lua_work}/source)
  if(NOT EXISTS ${SCEPTER_LUA_DIR}/.scepter-fetched)
    _scepter_fetch_lua(${SCEPTER_LUA_DIR})
  endif()
endif()

# The library minus what a policy sandbox must never reach, so no code path
# to it exists in our modules at all: the interpreters (lua.c, luac.c), the
# package library (require, dlopen of C modules), io, debug, and linit.c
# (luaL_openlibs would open all of those). LUA_USE_POSIX, not LUA_USE_LINUX:
# the latter only adds dlopen support.
file(GLOB SCEPTER_LUA_SOURCES ${SCEPTER_LUA_DIR}/src/*.c)
list(FILTER SCEPTER_LUA_SOURCES EXCLUDE REGEX "/(lua|luac|loadlib|liolib|ldblib|linit)\\.c$")
set_source_files_properties(${SCEPTER_LUA_SOURCES} PROPERTIES LANGUAGE CXX)
add_library(scepter_lua STATIC ${SCEPTER_LUA_SOURCES})
# Debian's luaconf.h includes a header that debian/rules generates; it only
# feeds the package library's search paths, which we do not build.
set(SCEPTER_LUA_MULTIARCH ${CMAKE_LIBRARY_ARCHITECTURE})
file(CONFIGURE OUTPUT ${_lua_work}/include/lua5.4-deb-multiarch.h
     CONTENT "#define DEB_HOST_MULTIARCH \"@SCEPTER_LUA_MULTIARCH@\"\n" @ONLY)
target_include_directories(scepter_lua SYSTEM PUBLIC ${SCEPTER_LUA_DIR}/src ${_lua_work}/include)
target_compile_definitions(scepter_lua PRIVATE LUA_USE_POSIX)
target_compile_options(scepter_lua PRIVATE -w)
set_target_properties(scepter_lua PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
target_link_libraries(scepter_lua PUBLIC m)
