# Installation layout and the Debian packages (`make package`):
# dirscope-server (with the `dirscope` command) and dirscope-client, each
# with its systemd unit, running
# as the unprivileged system user `dirscope` (created by postinst).
include(GNUInstallDirs)

# install and cpack must not build every test first: `make package` builds
# the two programs it packs.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS dirscope-server dirscope
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES conf/systemd/dirscope-server.service
        DESTINATION lib/systemd/system COMPONENT server)
install(FILES conf/deb/server.ini DESTINATION /etc/dirscope COMPONENT server)

install(TARGETS dirscope-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT client)
install(FILES conf/systemd/dirscope-client@.service
        DESTINATION lib/systemd/system COMPONENT client)
install(FILES conf/deb/client-example.ini
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/dirscope-client/examples
        COMPONENT client)

# Each package its own doc dir (/usr/share/doc/PACKAGE): a file in both
# packages stops dpkg from installing the second one.
foreach(component server client)
  install(FILES README.md DESIGN.md PROTOCOL.md
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/dirscope-${component}
          COMPONENT ${component})
endforeach()
install(FILES API.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/dirscope-server
        COMPONENT server)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dirscope)
set(CPACK_PACKAGE_VENDOR "dirscope developers")
set(CPACK_PACKAGE_CONTACT "dirscope developers <dirscope@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "explore, hash and transfer files across a fleet of nodes")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server client)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME dirscope-server)
set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME dirscope-client)
set(CPACK_DEBIAN_SERVER_DESCRIPTION
    "dirscope server: the operator's shell over a fleet of nodes\n Nodes connect out to this server over TLS 1.3; the operator lists,\n hashes, fetches, uploads and deletes files on their trees.")
set(CPACK_DEBIAN_CLIENT_DESCRIPTION
    "dirscope node: exposes one directory tree to a dirscope server\n The node connects out to the server and answers within its root only.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_SOURCE_DIR}/conf/deb/postinst;${CMAKE_CURRENT_SOURCE_DIR}/conf/deb/server/conffiles")
set(CPACK_DEBIAN_CLIENT_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_SOURCE_DIR}/conf/deb/postinst")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
