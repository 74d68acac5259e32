# syntax=docker/dockerfile:1.7
# The operator image: Node 24, production dependencies only, every first-party backend, the helm
# CLI and the default database charts (offline clusters need no registry), non-root uid 10001.
#
#   docker build -t hybrid-cloud-postgresql-operator .
#   docker run --rm hybrid-cloud-postgresql-operator backends
#
# Without Docker or an image registry: npm run image (scripts/image.sh, buildah and podman), see
# docs/install.md "Building the image". Optional build secrets, for sites whose registry access
# needs them (no layer keeps them): `npmrc`, an .npmrc for npm and pnpm (registry, token, cafile), and
# `ca`, a CA bundle mounted as the system one (e.g. of a TLS-inspecting proxy):
#   docker build --secret id=npmrc,src=$HOME/.npmrc --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
#
# The runtime layout is made by docker/assemble-runtime.sh, which charts/test/image-layout.test.ts
# runs outside a container with the same entrypoint.

ARG NODE_IMAGE=node:24.21.0-bookworm-slim
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG HELM_VERSION=v3.22.0
ARG BITNAMI_POSTGRESQL_CHART=17.1.0
ARG YUGABYTE_CHART=2026.1.0

# --- helm, built from the pinned module the tests use (packages/testenv/go/helm) ---------------
FROM ${GO_IMAGE} AS helm
ARG HELM_VERSION
# The release's git commit for `helm version`: a Go module carries none, so it is empty unless given.
ARG HELM_GIT_COMMIT=""
WORKDIR /src
COPY packages/testenv/go/helm/go.mod packages/testenv/go/helm/go.sum packages/testenv/go/helm/tools.go ./
# Linker flags as helm's Makefile sets them: the version, and the Kubernetes version helm assumes
# when no cluster answers (helm template, helm lint): 1.N for the k8s.io/client-go v0.N it is built
# with. Without them helm assumes 1.20 and refuses the operator chart (kubeVersion >=1.27).
RUN --mount=type=secret,id=ca,target=/etc/ssl/certs/ca-certificates.crt \
    go mod download \
 && client_go="$(go list -f '{{.Version}}' -m k8s.io/client-go)" \
 && k8s="${client_go#v}" \
 && k8s_major="$(( ${k8s%%.*} + 1 ))" \
 && k8s_minor="${k8s#*.}" && k8s_minor="${k8s_minor%%.*}" \
 && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} \
        -X helm.sh/helm/v3/internal/version.gitCommit=${HELM_GIT_COMMIT} \
        -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
        -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${k8s_major} \
        -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${k8s_minor} \
        -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${k8s_major} \
        -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${k8s_minor}" \
      -o /out/helm helm.sh/helm/v3/cmd/helm \
 && /out/helm version

# --- the default charts of the helm backends ---------------------------------------------------
# CHARTS_SOURCE=pull (default): pulled from the charts' registries at build time.
# CHARTS_SOURCE=local: copied from docker/charts/<name> in the build context (offline builds;
# scripts/image.sh fills it, by default with the test fixtures of the helm backends).
FROM helm AS charts
ARG CHARTS_SOURCE=pull
ARG BITNAMI_POSTGRESQL_CHART
ARG YUGABYTE_CHART
ENV HELM_CACHE_HOME=/tmp/helm/cache HELM_CONFIG_HOME=/tmp/helm/config HELM_DATA_HOME=/tmp/helm/data
COPY docker/charts/ /in/charts/
RUN mkdir -p /out/charts \
 && if [ "${CHARTS_SOURCE}" = local ]; then \
      cp -R /in/charts/postgresql /in/charts/yugabyte /out/charts/; \
    elif [ "${CHARTS_SOURCE}" = pull ]; then \
      /out/helm pull oci://registry-1.docker.io/bitnamicharts/postgresql --version "${BITNAMI_POSTGRESQL_CHART}" --untar --untardir /out/charts \
      && /out/helm pull yugabyte --repo https://charts.yugabyte.com --version "${YUGABYTE_CHART}" --untar --untardir /out/charts; \
    else \
      echo "CHARTS_SOURCE must be pull or local, not '${CHARTS_SOURCE}'" >&2; exit 1; \
    fi \
 && /out/helm show chart /out/charts/postgresql \
 && /out/helm show chart /out/charts/yugabyte

# --- build the workspace and assemble the runtime layout ------------------------------------
FROM ${NODE_IMAGE} AS build
ENV CI=true PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=ca,target=/etc/ssl/certs/ca-certificates.crt \
    npm install --global --no-audit --no-fund pnpm@10.34.8
WORKDIR /src
# Dependencies first (cached while only sources change): pnpm fetch needs the lockfile only.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=ca,target=/etc/ssl/certs/ca-certificates.crt \
    pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile --ignore-scripts \
 && pnpm run build \
 && PNPM_OFFLINE=1 bash docker/assemble-runtime.sh /src /out/app

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="hybrid-cloud-postgresql-operator" \
      org.opencontainers.image.description="PostgreSQL servers and databases on Azure, AWS or in-cluster, from Kubernetes custom resources" \
      org.opencontainers.image.source="https://github.com/MaibornWolff/hybrid-cloud-postgresql-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
# Named hybridcloud: Debian's base-passwd already has a group "operator" (gid 37).
RUN groupadd --system --gid 10001 hybridcloud \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin hybridcloud
COPY --from=helm /out/helm /usr/local/bin/helm
COPY --from=build /out/app /opt/hybridcloud-postgresql
COPY --from=charts /out/charts /opt/hybridcloud-postgresql/charts
RUN ln -s /opt/hybridcloud-postgresql/bin/hybridcloud-postgresql-operator /usr/local/bin/hybridcloud-postgresql-operator
# V8 sized for the operator: small young generation, capped old space. 1,000 servers + 1,000
# databases stay under 200 MiB RSS (npm run bench measures the operator with exactly these flags).
# Raise --max-old-space-size through the chart's extraEnv for much larger fleets.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=256" \
    HOME=/tmp \
    HELM_BINARY=/usr/local/bin/helm \
    HYBRIDCLOUD_PLUGIN_PATHS=/opt/hybridcloud-postgresql/packages
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "/opt/hybridcloud-postgresql/packages/core/dist/cli.js"]
CMD ["run"]
