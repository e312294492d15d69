# Coverage-guided fuzzing with libFuzzer: -DSCEPTER_FUZZ=ON, clang only
# (scripts/fuzz configures build-fuzz this way and runs the targets).
#
# Included twice: with SCEPTER_FUZZ_STAGE=flags before any target exists, so
# the core, Lua and everything else are compiled with the fuzzer's coverage
# instrumentation plus ASan and UBSan; with SCEPTER_FUZZ_STAGE=targets at the
# end, to add one executable per tests/fuzz/fuzz_*.cc. UBSan does not
# recover: undefined behaviour is a crash the fuzzer keeps, like ASan's.

option(SCEPTER_FUZZ "Build the libFuzzer targets (tests/fuzz); needs CMAKE_CXX_COMPILER=clang++" OFF)

if(SCEPTER_FUZZ AND SCEPTER_FUZZ_STAGE STREQUAL "flags")
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SCEPTER_FUZZ=ON needs clang: -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(SCEPTER_SANITIZERS address,undefined)
  add_compile_options(-fsanitize=fuzzer-no-link,${SCEPTER_SANITIZERS} -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  # Every executable gets the sanitizer runtimes (which also provide the
  # coverage callbacks); only the fuzz targets get libFuzzer's main().
  add_link_options(-fsanitize=${SCEPTER_SANITIZERS})
endif()

if(SCEPTER_FUZZ AND SCEPTER_FUZZ_STAGE STREQUAL "targets")
  add_library(scepter_fuzz_support STATIC ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_support.cc)
  target_include_directories(scepter_fuzz_support PUBLIC ${CMAKE_SOURCE_DIR}/core/src ${CMAKE_SOURCE_DIR}/tests/fuzz)
  target_link_libraries(scepter_fuzz_support PUBLIC scepter_cli)
  file(GLOB SCEPTER_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.cc)
  list(REMOVE_ITEM SCEPTER_FUZZ_TARGETS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_support.cc)
  set(SCEPTER_FUZZ_TARGET_NAMES "")
  foreach(src ${SCEPTER_FUZZ_TARGETS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_link_libraries(${name} PRIVATE scepter_fuzz_support)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_compile_definitions(${name} PRIVATE SCEPTER_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
    list(APPEND SCEPTER_FUZZ_TARGET_NAMES ${name})
  endforeach()
  add_custom_target(fuzz_targets DEPENDS ${SCEPTER_FUZZ_TARGET_NAMES})
endif()
