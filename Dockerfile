# latency-agent container image: a Swift build stage, then a slim Debian runtime holding only the
# binary, libcurl, LMDB, zlib and CA certificates. Runs as a non-root user, works with a read-only
# root filesystem (it writes only to the spool volume), and checks its own /health.
#
#   docker build -t latency-agent .
#   docker run --read-only -v spool:/var/lib/latency-agent -p 9473:9473 latency-agent

FROM swift:6.3-bookworm AS build
WORKDIR /src
# The same script the README and CI use, so the image builds with what the tests ran against.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh
COPY Package.swift ./
COPY Sources Sources
COPY Benchmarks Benchmarks
COPY Tests Tests
# The Swift runtime is linked in, so the runtime stage needs no Swift toolchain.
RUN swift build -c release --static-swift-stdlib --product latency-agent \
    && install -D "$(swift build -c release --show-bin-path)/latency-agent" /out/latency-agent \
    && strip /out/latency-agent

FROM debian:bookworm-slim
# Runtime libraries of the binary (see `ldd`): libcurl with OpenSSL, LMDB, zlib; CA certificates
# for HTTPS targets and outputs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4=7.88.* liblmdb0=0.9.* zlib1g=1:1.2.* ca-certificates=2023* \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 agent \
    && useradd --system --uid 65532 --gid agent --home-dir /nonexistent --shell /usr/sbin/nologin agent \
    && install -d -o agent -g agent -m 0750 /var/lib/latency-agent
COPY --from=build /out/latency-agent /usr/local/bin/latency-agent
COPY examples/config.yaml /usr/share/latency-agent/config.example.yaml
USER 65532:65532
VOLUME ["/var/lib/latency-agent"]
EXPOSE 9473
# The agent asks its own /health at the address and port its configuration names (found as
# `run` finds it: --config, LATENCY_AGENT_CONFIG, /etc/latency-agent/config.yaml, API_URL_*), so a
# changed server.port needs no new image. No curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/latency-agent", "health", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/latency-agent"]
CMD ["run", "--config", "/etc/latency-agent/config.yaml"]
