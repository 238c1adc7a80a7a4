# `make install` (cmake --install; PREFIX and DESTDIR honoured) and the
# Debian package (`make deb`: CPack's DEB generator installs the same rules
# under /usr into a staging directory).
#
#   bin/tagstream
#   share/tagstream/web/                  the dashboard (web/dist)
#   lib/systemd/system/tagstream.service  the unit, its paths fitted to PREFIX
#   etc/tagstream/tagstream.toml          the example config; /etc for PREFIX /usr;
#                                         an existing one is never overwritten
#   share/doc/tagstream/examples/         the example configs (one node, a cluster
#                                         node), the nginx and Redis configs
# Installing and packaging take what is built and build nothing themselves
# (`make install` and `make deb` build first): the package test must not
# start a whole-tree build.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
install(TARGETS tagstream RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(CODE "
  if(NOT EXISTS \"${CMAKE_SOURCE_DIR}/web/dist/index.html\")
    message(FATAL_ERROR \"the dashboard is not built (${CMAKE_SOURCE_DIR}/web/dist): run make web or make build first\")
  endif()")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/dist/ DESTINATION ${TAGSTREAM_WEB_INSTALL_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/deploy/tagstream.example.toml ${CMAKE_SOURCE_DIR}/deploy/nginx/tagstream.conf
              ${CMAKE_SOURCE_DIR}/deploy/tagstream-cluster.example.toml
              ${CMAKE_SOURCE_DIR}/deploy/redis/tagstream-redis.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# The unit and the config depend on the prefix the files are installed
# under, which CPack decides at packaging time (/usr), not this configure
# (/usr/local): they are written by a script run at install time.
install(CODE "set(TAGSTREAM_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
              set(TAGSTREAM_STAGING_DIR \"${CMAKE_BINARY_DIR}/install-staging\")
              set(TAGSTREAM_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(SCRIPT ${CMAKE_SOURCE_DIR}/cmake/install_system_files.cmake)

# The Debian package. Its version is the project's, as the binary reports.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tagstream)
set(CPACK_PACKAGE_VENDOR tagstream)
set(CPACK_PACKAGE_CONTACT "tagstream maintainers <tagstream@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time SCADA streaming server: SSE, historian, dashboard")
set(CPACK_PACKAGE_DESCRIPTION
    "tagstream streams process values to browsers over Server-Sent Events,\n"
    "keeps their history in SQLite with per-second to per-day rollups, and\n"
    "serves a web dashboard. The package holds the server, the dashboard, a\n"
    "systemd unit (run as the system user tagstream, data in\n"
    "/var/lib/tagstream) and an example configuration in\n"
    "/etc/tagstream/tagstream.toml.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # tagstream_0.9.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # the shared libraries' packages, from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")  # postinst creates the system user
# The config is a conffile: an upgrade keeps the operator's edits (or asks).
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/tagstream/tagstream.toml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/debian/conffiles ${CMAKE_SOURCE_DIR}/deploy/debian/postinst
    ${CMAKE_SOURCE_DIR}/deploy/debian/prerm ${CMAKE_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
