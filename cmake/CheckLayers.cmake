# The rooms of core/src and their floors: a file may include its own room
# and rooms on lower floors only, so every arrow in the core points down
# (docs/ARCHITECTURE.md draws the same picture). Checked at configure time,
# like the web-server header boundary.
set(SCEPTER_FLOORS
    util=1 codec=2 config=2 store=2 integrations=2 metrics=2 audit=3 ca=3 policy=4 ocsp=4 challenge=5
    enrollment=6 admin=6 service=7)

function(scepter_floor_of room out)
  set(${out} "" PARENT_SCOPE)
  foreach(entry ${SCEPTER_FLOORS})
    string(REPLACE "=" ";" pair ${entry})
    list(GET pair 0 name)
    if(name STREQUAL room)
      list(GET pair 1 floor)
      set(${out} ${floor} PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

file(GLOB_RECURSE scepter_layer_files CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/core/src/*.h ${CMAKE_SOURCE_DIR}/core/src/*.cc)
foreach(f ${scepter_layer_files})
  file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR}/core/src ${f})
  string(REGEX MATCH "^[a-z_]+" room ${rel})
  scepter_floor_of(${room} floor)
  if(floor STREQUAL "")
    message(FATAL_ERROR "core/src/${rel}: room '${room}' has no floor in cmake/CheckLayers.cmake")
  endif()
  file(STRINGS ${f} includes REGEX "^#include \"[a-z_]+/")
  foreach(inc ${includes})
    string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" target ${inc})
    if(NOT target STREQUAL "scepter" AND NOT target STREQUAL room)
      scepter_floor_of(${target} target_floor)
      if(target_floor STREQUAL "" OR NOT target_floor LESS floor)
        message(FATAL_ERROR "core/src/${rel} (${room}, floor ${floor}) includes ${target}/ "
                            "(floor ${target_floor}): the core's includes point down only")
      endif()
    endif()
  endforeach()
endforeach()
