# CPU instruction set for the core. CHARRNN_ARCH (a CMake cache variable, settable with
# `pip install . -Ccmake.define.CHARRNN_ARCH=...`, or the CHARRNN_ARCH environment variable):
#   auto      (default) the best level below that this machine's CPU runs: x86-64-v4, else
#             x86-64-v3, else portable
#   portable  the compiler's baseline: runs on any CPU of the architecture (SSE2 on x86-64)
#   x86-64-v3 AVX2 + FMA; dies with an illegal instruction on CPUs without them
#   x86-64-v4 AVX-512 (F, BW, DQ, VL, CD) on top of v3
#   native    everything the building CPU has, tuned for it
# auto prefers v4: at batch 1 v3, v4 and native time the same, and at batch 32 v4's GEMMs are
# twice as wide and faster; portable is about half as fast. native adds nothing on an AVX-512
# Xeon, and on an AVX2-only EPYC its tuning was slower than v3 at batch 32, so auto's v3 is the
# better choice there (the figures: docs/performance.md, "How the step is made fast").
# `auto` never picks flags the building machine cannot run: it compiles and runs a probe first.
# CHARRNN_EXTRA_FLAGS (a list) is added to compile and link lines, e.g. for sanitizers.
if(NOT DEFINED CHARRNN_ARCH AND DEFINED ENV{CHARRNN_ARCH})
  set(CHARRNN_ARCH "$ENV{CHARRNN_ARCH}")
endif()
set(CHARRNN_ARCH "auto" CACHE STRING "CPU instruction set: auto, portable, x86-64-v3, x86-64-v4 or native")
set_property(CACHE CHARRNN_ARCH PROPERTY STRINGS auto portable x86-64-v3 x86-64-v4 native)
set(CHARRNN_EXTRA_FLAGS "" CACHE STRING "extra compile and link flags for the core")

set(_arch "${CHARRNN_ARCH}")
if(_arch STREQUAL "auto")
  set(_arch "portable")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND NOT CMAKE_CROSSCOMPILING)
    try_run(_probe_v3_run _probe_v3_compile
      "${CMAKE_BINARY_DIR}/arch_probe_v3" "${CMAKE_CURRENT_LIST_DIR}/arch_probe.cpp"
      COMPILE_DEFINITIONS -march=x86-64-v3)
    if(_probe_v3_compile AND _probe_v3_run EQUAL 0)
      set(_arch "x86-64-v3")
      try_run(_probe_v4_run _probe_v4_compile
        "${CMAKE_BINARY_DIR}/arch_probe_v4" "${CMAKE_CURRENT_LIST_DIR}/arch_probe.cpp"
        COMPILE_DEFINITIONS -march=x86-64-v4 -DCHARRNN_PROBE_V4)
      if(_probe_v4_compile AND _probe_v4_run EQUAL 0)
        set(_arch "x86-64-v4")
      endif()
    endif()
  endif()
endif()

if(_arch STREQUAL "portable")
  set(CHARRNN_ARCH_FLAGS "")
elseif(_arch MATCHES "^(x86-64-v3|x86-64-v4|native)$")
  set(CHARRNN_ARCH_FLAGS "-march=${_arch}")
else()
  message(FATAL_ERROR "CHARRNN_ARCH must be auto, portable, x86-64-v3, x86-64-v4 or native, got '${_arch}'")
endif()
set(CHARRNN_ARCH_RESOLVED "${_arch}")
message(STATUS "charrnn: CHARRNN_ARCH=${CHARRNN_ARCH} -> ${_arch} ${CHARRNN_ARCH_FLAGS}")
