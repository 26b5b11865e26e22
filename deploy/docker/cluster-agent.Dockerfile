# syntax=docker/dockerfile:1
# meshwave-cluster-agent image (ADR 0029). Build from the repository root:
#   docker build -f deploy/docker/cluster-agent.Dockerfile -t meshwave/cluster-agent:0.1.0 .
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
RUN node scripts/bundle.ts --out /bundle cluster-agent

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="meshwave-cluster-agent" \
      org.opencontainers.image.description="meshwave cluster agent: converges a cluster's namespaces and workloads to their Istio revision; admission webhook" \
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
COPY --from=build /bundle/cluster-agent/ /app/
# a numeric user, so that Kubernetes can verify runAsNonRoot
USER 65532:65532
EXPOSE 9443 9090
ENTRYPOINT ["node", "/app/services/cluster-agent/bin/meshwave-cluster-agent.js"]
