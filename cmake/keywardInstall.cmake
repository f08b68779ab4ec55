# keyward's install rules, in two components:
#   development  the headers, the CMake package (find_package(keyward)) and keyward.pc
#   tool         the keyward command-line tool (tools/cli/CMakeLists.txt), when it is built
# A plain `cmake --install` installs both; each has its own .deb, `keyward` and `keyward-tools`
# (cmake/keywardPackaging.cmake).
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/keyward
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT development
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.ipp")

install(TARGETS keyward_headers EXPORT keywardTargets COMPONENT development)

# The package is header-only and its version file is ARCH_INDEPENDENT, so the config files go
# to the architecture-independent data dir (share/cmake/keyward) rather than lib/cmake: one
# installed copy then serves every architecture / multiarch libdir (lib/x86_64-linux-gnu, ...),
# and find_package() searches <prefix>/share/cmake/<name> just like <prefix>/lib/cmake/<name>.
set(KEYWARD_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/cmake/keyward)

install(EXPORT keywardTargets
        FILE keywardTargets.cmake
        NAMESPACE keyward::
        DESTINATION ${KEYWARD_CMAKE_INSTALL_DIR}
        COMPONENT development)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/keywardConfig.cmake.in
  ${PROJECT_BINARY_DIR}/keywardConfig.cmake
  INSTALL_DESTINATION ${KEYWARD_CMAKE_INSTALL_DIR})

write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/keywardConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)

install(FILES
          ${PROJECT_BINARY_DIR}/keywardConfig.cmake
          ${PROJECT_BINARY_DIR}/keywardConfigVersion.cmake
          ${PROJECT_SOURCE_DIR}/cmake/keywardTransports.cmake
        DESTINATION ${KEYWARD_CMAKE_INSTALL_DIR}
        COMPONENT development)

# ---------------------------------------------------------------------------------------------
# keyward.pc, for pkg-config users. Also in the data dir (share/pkgconfig, on pkg-config's
# default search path), for the reason given above.
#
# Its prefix must be where the files end up, and `cmake --install --prefix X` chooses that after
# configuring, so the file is written at install time from CMAKE_INSTALL_PREFIX as the install
# sees it (DESTDIR is applied on top, as for every file). CPack's archive generators install into
# a staging prefix (.../_CPack_Packages/...) that no user will have; an archive is unpacked
# anywhere, so there the prefix is found relative to the .pc file instead. (The .deb is staged
# with DESTDIR and gets /usr.)
# ---------------------------------------------------------------------------------------------
set(KEYWARD_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/pkgconfig
    CACHE STRING "Where keyward.pc is installed, relative to the prefix")

if(IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(KEYWARD_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
else()
  set(KEYWARD_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Left as a placeholder now, filled in by the install script below.
set(KEYWARD_PC_PREFIX "@KEYWARD_PC_PREFIX@")
configure_file(${PROJECT_SOURCE_DIR}/cmake/keyward.pc.in ${PROJECT_BINARY_DIR}/keyward.pc.in
               @ONLY)

# In an archive: ${pcfiledir}/../.. for share/pkgconfig, one ".." per component of the dir.
set(keyward_pc_in_archive "")
if(NOT IS_ABSOLUTE ${KEYWARD_PKGCONFIG_INSTALL_DIR})
  file(RELATIVE_PATH keyward_pc_to_prefix /p/${KEYWARD_PKGCONFIG_INSTALL_DIR} /p)
  string(REGEX REPLACE "/$" "" keyward_pc_to_prefix "${keyward_pc_to_prefix}")
  set(keyward_pc_in_archive "
    if(KEYWARD_PC_PREFIX MATCHES \"/_CPack_Packages/\")
      set(KEYWARD_PC_PREFIX \"\\\${pcfiledir}/${keyward_pc_to_prefix}\")
    endif()")
endif()
install(CODE "
  set(KEYWARD_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")${keyward_pc_in_archive}
  configure_file(\"${PROJECT_BINARY_DIR}/keyward.pc.in\" \"${PROJECT_BINARY_DIR}/keyward.pc\"
                 @ONLY)
  " COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/keyward.pc
        DESTINATION ${KEYWARD_PKGCONFIG_INSTALL_DIR}
        COMPONENT development)
