# syntax=docker/dockerfile:1
# envwick's image: a static binary on a distroless base (no shell, no
# package manager), running as the non-root user the Kubernetes manifests
# (deploy/kubernetes) expect. Build: docker build -t ghcr.io/envwick/envwick .

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/envwick ./cmd/envwick

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/envwick /usr/local/bin/envwick
# 65532 is distroless's nonroot user; the manifests run as it too.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/envwick"]
CMD ["serve", "--listen=0.0.0.0:8080"]
