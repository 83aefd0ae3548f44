# Build-time code generation from api/<NAME>.api (tools/gen; docs/adding-a-function.md).
#
#   gvirtus_generate_api(NAME [INCLUDE_DIRS dir...] [LIBRARY_DIRS dir...] [ERRTABLE_LINK target]
#                        [EXTRA suffix...])
#
# The first call defines the generation commands and the custom target gvirtus_gen_<NAME>; call
# it once from the top-level CMakeLists.txt before add_subdirectory() so the commands live in the
# top directory, and again wherever the outputs are used: later calls only set, in the caller's
# scope,
#   GVIRTUS_GEN_DIR            folder of the generated files (put it on the include path)
#   GVIRTUS_GEN_<NAME>_CLIENT  client stubs (.cc, goes into the frontend library)
#   GVIRTUS_GEN_<NAME>_SERVER  server handlers and call table (.cc, goes into the backend)
#   GVIRTUS_GEN_<NAME>_MAP     linker version script of the frontend library
#   GVIRTUS_GEN_<NAME>_STATUS  per-function status table (markdown)
#   GVIRTUS_GEN_<NAME>_ERRORS  {code, name, string} rows from the real library (if it has an
#                              `errors` directive and an ERRTABLE_LINK)
# Targets that use them add_dependencies(<target> gvirtus_gen_<NAME>).
#
# INCLUDE_DIRS (else GVIRTUS_GEN_DEFAULT_<NAME>_INCLUDE_DIRS) and LIBRARY_DIRS default to the
# CUDA toolkit's; the real library named by the
# annotation file's `soname` is looked up in LIBRARY_DIRS for its export list. ERRTABLE_LINK is
# the target that tools/gen/errtable.cc links to print the real error names and strings. EXTRA
# names further files the annotation file's directives make the generator write
# (<NAME>_<suffix>: renames.inc for `renames`, results.inc for `result_enum`).

set(GVIRTUS_GEN_TOOL_DIR ${CMAKE_CURRENT_LIST_DIR}/../tools/gen)
get_filename_component(GVIRTUS_GEN_TOOL_DIR ${GVIRTUS_GEN_TOOL_DIR} ABSOLUTE)

# Per-library defaults, used when the call does not say.
set(GVIRTUS_GEN_DEFAULT_cudart_ERRTABLE_LINK CUDA::cudart_static)
set(GVIRTUS_GEN_DEFAULT_cublas_ERRTABLE_LINK CUDA::cublas)
set(GVIRTUS_GEN_DEFAULT_cublasLt_ERRTABLE_LINK CUDA::cublasLt)
set(GVIRTUS_GEN_DEFAULT_cusparse_ERRTABLE_LINK CUDA::cusparse)

function(gvirtus_generate_api NAME)
  cmake_parse_arguments(ARG "" "ERRTABLE_LINK" "INCLUDE_DIRS;LIBRARY_DIRS;EXTRA" ${ARGN})
  set(gen_dir ${CMAKE_BINARY_DIR}/gen)
  set(api ${PROJECT_SOURCE_DIR}/api/${NAME}.api)
  set(client ${gen_dir}/${NAME}_client.cc)
  set(server ${gen_dir}/${NAME}_server.cc)
  set(map ${gen_dir}/${NAME}.map)
  set(status ${gen_dir}/${NAME}_status.md)
  set(errors ${gen_dir}/${NAME}_errors.inc)

  get_property(defined GLOBAL PROPERTY GVIRTUS_GEN_${NAME}_DEFINED)
  if(NOT defined)
    set_property(GLOBAL PROPERTY GVIRTUS_GEN_${NAME}_DEFINED TRUE)
    if(NOT EXISTS ${api})
      message(FATAL_ERROR "gvirtus_generate_api(${NAME}): ${api} does not exist")
    endif()
    if(NOT ARG_INCLUDE_DIRS AND DEFINED GVIRTUS_GEN_DEFAULT_${NAME}_INCLUDE_DIRS)
      set(ARG_INCLUDE_DIRS ${GVIRTUS_GEN_DEFAULT_${NAME}_INCLUDE_DIRS})
    endif()
    if(NOT ARG_INCLUDE_DIRS)
      set(ARG_INCLUDE_DIRS ${CUDAToolkit_INCLUDE_DIRS})
    endif()
    if(NOT ARG_LIBRARY_DIRS)
      set(ARG_LIBRARY_DIRS ${CUDAToolkit_LIBRARY_DIR})
    endif()
    if(NOT ARG_ERRTABLE_LINK AND DEFINED GVIRTUS_GEN_DEFAULT_${NAME}_ERRTABLE_LINK)
      set(ARG_ERRTABLE_LINK ${GVIRTUS_GEN_DEFAULT_${NAME}_ERRTABLE_LINK})
    endif()
    set(nm ${CMAKE_NM})
    if(NOT nm)
      set(nm nm)
    endif()
    set(inc_args)
    foreach(d ${ARG_INCLUDE_DIRS})
      list(APPEND inc_args --include-dir ${d})
    endforeach()
    set(lib_args)
    foreach(d ${ARG_LIBRARY_DIRS})
      list(APPEND lib_args --lib-dir ${d})
    endforeach()
    file(GLOB tool_py ${GVIRTUS_GEN_TOOL_DIR}/*.py)
    set(calls ${gen_dir}/${NAME}_calls.h)
    set(errtable_h)
    if(ARG_ERRTABLE_LINK)
      set(errtable_h ${gen_dir}/${NAME}_errtable.h)
    endif()
    set(extra)
    foreach(e ${ARG_EXTRA})
      list(APPEND extra ${gen_dir}/${NAME}_${e})
    endforeach()

    # Headers and the real library are listed in the depfile the generator writes.
    add_custom_command(
      OUTPUT ${calls} ${client} ${server} ${map} ${status} ${errtable_h} ${extra}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${gen_dir}
      COMMAND Python3::Interpreter ${GVIRTUS_GEN_TOOL_DIR}/gvgen.py sources
              --api ${api} ${inc_args} ${lib_args} --out-dir ${gen_dir} --nm ${nm}
              --depfile ${gen_dir}/${NAME}.d
      DEPENDS ${api} ${tool_py}
      DEPFILE ${gen_dir}/${NAME}.d
      COMMENT "Generating ${NAME} stubs, handlers and version script from api/${NAME}.api"
      VERBATIM)
    set(outputs ${calls} ${client} ${server} ${map} ${status} ${extra})

    if(ARG_ERRTABLE_LINK)
      # A program linked with the real library prints its error names and strings.
      set(errtable gvirtus_errtable_${NAME})
      add_executable(${errtable} ${GVIRTUS_GEN_TOOL_DIR}/errtable.cc ${errtable_h})
      target_include_directories(${errtable} PRIVATE ${gen_dir} ${ARG_INCLUDE_DIRS})
      target_compile_definitions(${errtable} PRIVATE "GV_ERRTABLE_CONFIG=\"${NAME}_errtable.h\"")
      target_link_libraries(${errtable} PRIVATE ${ARG_ERRTABLE_LINK})
      set_target_properties(${errtable} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${gen_dir}/tools)
      add_custom_command(
        OUTPUT ${errors}
        COMMAND ${errtable} ${gen_dir}/${NAME}_errtable.txt
        COMMAND Python3::Interpreter ${GVIRTUS_GEN_TOOL_DIR}/gvgen.py errors
                --api ${api} ${inc_args} --table ${gen_dir}/${NAME}_errtable.txt --out ${errors}
        DEPENDS ${errtable} ${api} ${tool_py}
        COMMENT "Generating ${NAME} error table from the real library"
        VERBATIM)
      list(APPEND outputs ${errors})
    endif()

    add_custom_target(gvirtus_gen_${NAME} DEPENDS ${outputs})
    # For docs/function-status.md (gvirtus_function_status_doc, top-level CMakeLists.txt).
    set_property(GLOBAL APPEND PROPERTY GVIRTUS_GEN_STATUS_TABLES ${status})
    set_property(GLOBAL PROPERTY GVIRTUS_GEN_${NAME}_OUTPUTS ${outputs})
    include(GNUInstallDirs)
    install(FILES ${status} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/gvirtus)
  endif()

  get_property(outputs GLOBAL PROPERTY GVIRTUS_GEN_${NAME}_OUTPUTS)
  set_source_files_properties(${outputs} PROPERTIES GENERATED TRUE)
  set(GVIRTUS_GEN_DIR ${gen_dir} PARENT_SCOPE)
  set(GVIRTUS_GEN_${NAME}_CLIENT ${client} PARENT_SCOPE)
  set(GVIRTUS_GEN_${NAME}_SERVER ${server} PARENT_SCOPE)
  set(GVIRTUS_GEN_${NAME}_MAP ${map} PARENT_SCOPE)
  set(GVIRTUS_GEN_${NAME}_STATUS ${status} PARENT_SCOPE)
  if(errors IN_LIST outputs)
    set(GVIRTUS_GEN_${NAME}_ERRORS ${errors} PARENT_SCOPE)
  endif()
endfunction()
