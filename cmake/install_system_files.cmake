# Run at install time (cmake --install, CPack): installs the systemd unit and
# the example config with their paths fitted to the prefix being installed
# to. CMAKE_INSTALL_PREFIX is that prefix here (/usr when CPack builds the
# .deb); file(INSTALL) prepends DESTDIR itself.
#
# In: TAGSTREAM_SOURCE_DIR, TAGSTREAM_STAGING_DIR, TAGSTREAM_BINDIR (set by
# install(CODE) in cmake/install.cmake).

# /usr keeps its configuration in /etc, any other prefix in PREFIX/etc (the
# rule of GNUInstallDirs, applied to the prefix of this install).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(etc "/etc")
else()
  set(etc "${CMAKE_INSTALL_PREFIX}/etc")
endif()

# deploy/systemd/tagstream.service names the packaged paths; an install
# under another prefix gets its own.
file(READ "${TAGSTREAM_SOURCE_DIR}/deploy/systemd/tagstream.service" unit)
string(REPLACE "/usr/bin/tagstream" "${CMAKE_INSTALL_PREFIX}/${TAGSTREAM_BINDIR}/tagstream" unit "${unit}")
string(REPLACE "/etc/tagstream/" "${etc}/tagstream/" unit "${unit}")
file(MAKE_DIRECTORY "${TAGSTREAM_STAGING_DIR}")
file(WRITE "${TAGSTREAM_STAGING_DIR}/tagstream.service" "${unit}")
file(INSTALL "${TAGSTREAM_STAGING_DIR}/tagstream.service" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")

# An operator's config is never replaced by the example.
if(EXISTS "$ENV{DESTDIR}${etc}/tagstream/tagstream.toml")
  message(STATUS "Keeping: $ENV{DESTDIR}${etc}/tagstream/tagstream.toml")
else()
  file(INSTALL "${TAGSTREAM_SOURCE_DIR}/deploy/tagstream.example.toml" DESTINATION "${etc}/tagstream"
       RENAME tagstream.toml)
endif()
