# syntax=docker/dockerfile:1
#
# notifierd container images (no cgo, static binaries, distroless, non-root).
#
#   docker build --build-arg VERSION=v1.2.3 -t notifierd:v1.2.3 .            # the daemon (default target)
#   docker build --target targetsim -t notifierd-targetsim .                 # the Target Delivery API simulator
#
# The version is stamped into the binary: `docker run --rm notifierd:v1.2.3 --version`.
# The daemon reads its configuration from --config FILE and NOTIFIERD_* variables; in a
# container set admin.listen to 0.0.0.0:9464 so probes and Prometheus can reach it.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS src
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .

FROM src AS build
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o /out/notifierd ./cmd/notifierd

FROM src AS build-targetsim
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -buildvcs=false -ldflags "-s -w" -o /out/targetsim ./cmd/targetsim

# The simulator, for docker compose and load tests (deploy/compose).
FROM gcr.io/distroless/static-debian12:nonroot AS targetsim
COPY --from=build-targetsim /out/targetsim /usr/local/bin/targetsim
USER nonroot:nonroot
EXPOSE 8090
ENTRYPOINT ["/usr/local/bin/targetsim", "-listen", "0.0.0.0:8090"]

# The daemon. Last stage: what a plain `docker build .` produces.
FROM gcr.io/distroless/static-debian12:nonroot AS notifierd
ARG VERSION=dev
LABEL org.opencontainers.image.title="notifierd" \
      org.opencontainers.image.description="Kafka display/click events to the Adobe Target Delivery API" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/notifierd /usr/local/bin/notifierd
# distroless nonroot: uid/gid 65532, no shell, no package manager.
USER nonroot:nonroot
# Admin endpoint: /metrics, /healthz, /readyz.
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/notifierd"]
