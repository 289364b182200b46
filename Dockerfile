# dirscope in a container: the server and the node from the .deb packages
# this repository builds (`make package`), on Debian bookworm like CI.
#   docker build -t dirscope .
#   docker compose up        (compose.yaml: a server and two nodes)
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ make pkg-config \
      libcaf-dev libspdlog-dev libcrypto++-dev nlohmann-json3-dev \
      libedit-dev libssl-dev libarchive-dev libcpp-httplib-dev dpkg-dev \
      file \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j"$(nproc)" \
      --target dirscope-server dirscope-client dirscope \
 && cd build && cpack -G DEB

FROM debian:bookworm-slim
COPY --from=build /src/build/dirscope-*.deb /tmp/
# apt resolves the libraries the packages name (shlibdeps); postinst
# creates the unprivileged user `dirscope`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/dirscope-*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/dirscope-*.deb
# The state dir (CA, certificate, tokens): systemd's StateDirectory= makes
# it on a host; here the image does.
RUN install -d -o dirscope -g dirscope -m 0750 /var/lib/dirscope
USER dirscope
WORKDIR /var/lib/dirscope
EXPOSE 3443 8443
CMD ["dirscope-server", "--help"]
