# CPU instruction set for the core. CHARRNN_ARCH (a CMake cache variable, settable with
# `pip install . -Ccmake.define.CHARRNN_ARCH=...`, or the CHARRNN_ARCH environment variable):
#   auto      (default) x86-64-v3 (AVX2 + FMA) if this machine's CPU runs it, else portable
#   portable  the compiler's baseline: runs on any CPU of the architecture
#   x86-64-v3 AVX2 + FMA; dies with an illegal instruction on CPUs without them
#   native    everything the building CPU has (measured slower than x86-64-v3 with AVX-512)
# `auto` never picks flags the building machine cannot run: it compiles and runs a probe first.
# CHARRNN_EXTRA_FLAGS (a list) is added to compile and link lines, e.g. for sanitizers.
if(NOT DEFINED CHARRNN_ARCH AND DEFINED ENV{CHARRNN_ARCH})
  set(CHARRNN_ARCH "$ENV{CHARRNN_ARCH}")
endif()
set(CHARRNN_ARCH "auto" CACHE STRING "CPU instruction set: auto, portable, x86-64-v3 or native")
set_property(CACHE CHARRNN_ARCH PROPERTY STRINGS auto portable x86-64-v3 native)
set(CHARRNN_EXTRA_FLAGS "" CACHE STRING "extra compile and link flags for the core")

set(_arch "${CHARRNN_ARCH}")
if(_arch STREQUAL "auto")
  set(_arch "portable")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND NOT CMAKE_CROSSCOMPILING)
    try_run(_probe_run _probe_compile
      "${CMAKE_BINARY_DIR}/arch_probe" "${CMAKE_CURRENT_LIST_DIR}/arch_probe.cpp"
      COMPILE_DEFINITIONS -march=x86-64-v3)
    if(_probe_compile AND _probe_run EQUAL 0)
      set(_arch "x86-64-v3")
    endif()
  endif()
endif()

if(_arch STREQUAL "portable")
  set(CHARRNN_ARCH_FLAGS "")
elseif(_arch STREQUAL "x86-64-v3" OR _arch STREQUAL "native")
  set(CHARRNN_ARCH_FLAGS "-march=${_arch}")
else()
  message(FATAL_ERROR "CHARRNN_ARCH must be auto, portable, x86-64-v3 or native, got '${_arch}'")
endif()
set(CHARRNN_ARCH_RESOLVED "${_arch}")
message(STATUS "charrnn: CHARRNN_ARCH=${CHARRNN_ARCH} -> ${_arch} ${CHARRNN_ARCH_FLAGS}")
