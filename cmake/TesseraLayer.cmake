# tessera_add_layer(NAME DEPENDS lib...) builds src/tessera/NAME/**.cpp into tessera_NAME.
# Sources ending in _avx512.cpp are compiled with AVX-512 flags (entered only after a CPU check),
# those ending in _avx512_vnni.cpp with AVX-512 VNNI as well.
function(tessera_add_layer name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;PRIVATE" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT sources)  # a layer with headers only (or not yet written) still links cleanly
    add_library(tessera_${name} INTERFACE)
    target_include_directories(tessera_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(tessera_${name} INTERFACE ${ARG_DEPENDS})
    return()
  endif()
  add_library(tessera_${name} STATIC ${sources})
  target_include_directories(tessera_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tessera_${name} PUBLIC ${ARG_DEPENDS} PRIVATE ${ARG_PRIVATE})
  foreach(src ${sources})
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${TESSERA_AVX512_FLAGS}")
    elseif(src MATCHES "_avx512_vnni\\.cpp$")  # entered only after a VNNI check as well
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${TESSERA_AVX512_FLAGS};-mavx512vnni")
    endif()
  endforeach()
endfunction()

# tessera_add_tests(LAYER LIBS lib...) builds tests/LAYER/*_test.cpp into one GoogleTest
# executable and registers each test with ctest. Files named *_slow_test.cpp go into a second
# executable whose tests carry the label `slow`.
function(tessera_add_tests layer)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB all CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  set(fast "")
  set(slow "")
  foreach(f ${all})
    if(f MATCHES "_slow_test\\.cpp$")
      list(APPEND slow ${f})
    else()
      list(APPEND fast ${f})
    endif()
  endforeach()
  if(fast)
    add_executable(test_${layer} ${fast})
    target_link_libraries(test_${layer} PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
    gtest_discover_tests(test_${layer} PROPERTIES LABELS "${layer}" DISCOVERY_TIMEOUT 60)
  endif()
  if(slow)
    add_executable(test_${layer}_slow ${slow})
    target_link_libraries(test_${layer}_slow PRIVATE ${ARG_LIBS} GTest::gtest_main GTest::gmock)
    # One label only: a list here would be split into separate properties by the discovery script.
    gtest_discover_tests(test_${layer}_slow PROPERTIES LABELS "slow" DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
