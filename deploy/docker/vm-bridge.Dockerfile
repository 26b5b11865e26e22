# syntax=docker/dockerfile:1
# meshwave-vm-bridge image (ADR 0029). Build from the repository root:
#   docker build -f deploy/docker/vm-bridge.Dockerfile -t meshwave/vm-bridge:0.1.0 .
# The build stage makes the production bundle with scripts/bundle.ts, the very script `npm test` runs to build
# and start the same bundle, so a step that breaks here breaks there. No HEALTHCHECK: Kubernetes probes the
# service (the chart's readiness and liveness probes).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY libs/ libs/
COPY services/ services/
COPY scripts/ scripts/
# dev dependencies for the compiler; no dependency runs code at install time
RUN npm ci --ignore-scripts --no-audit --no-fund
RUN node scripts/bundle.ts --out /bundle vm-bridge

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="meshwave-vm-bridge" \
      org.opencontainers.image.description="meshwave VM bridge: rolls istio-proxy upgrades over VM host groups in batches; vm-agent host API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/meshwave/meshwave" \
      org.opencontainers.image.url="https://github.com/meshwave/meshwave" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="meshwave"
ENV NODE_ENV=production
WORKDIR /app
# owned by root, read-only to the service: the root filesystem can be mounted read-only
COPY --from=build /bundle/vm-bridge/ /app/
# a numeric user, so that Kubernetes can verify runAsNonRoot
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/services/vm-bridge/bin/meshwave-vm-bridge.js"]
