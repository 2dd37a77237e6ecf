"""Value types shared by every config model: names, versions, quantities, resources.

Kept apart from `config.py` so that schemas used in more than one place (the MCP
server schema in `server_spec.py`) can build on them without an import cycle.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

from components.quantities import QuantityError, parse_quantity

# Kubernetes minor versions the stack is written and schema-checked for. The floor is
# where CRD validation rules (CEL) and ValidatingAdmissionPolicy are GA (1.30); the
# ceiling is the newest OpenAPI schema bundled with kubernetes-validate 1.37.
MIN_KUBERNETES = (1, 30)
MAX_KUBERNETES = (1, 37)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SEMVER = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")
_KUBE_VERSION = re.compile(r"^v?1\.([0-9]{1,2})$")
_REGISTRY = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9]+([._-][a-z0-9]+)*)*"  # host
    r"(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*/?$"  # port, path
)
_RATE = re.compile(r"^(0(\.[0-9]+)?|1(\.0+)?)$")
IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


# ---------------------------------------------------------------------------
# Value types shared by every section
# ---------------------------------------------------------------------------


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            "must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (for example data-science)"
        )
    return value


def _domain(value: str) -> str:
    if not _DOMAIN.match(value):
        raise ValueError(
            "must be a lowercase DNS name with at least two labels and no wildcard, for example finetunings.ai"
        )
    return value


def _semver(value: str) -> str:
    if not _SEMVER.match(value):
        raise ValueError("must be an exact chart version such as 0.44.0 (no ranges, no 'latest')")
    return value


def _kubernetes_version(value: str) -> str:
    match = _KUBE_VERSION.match(value)
    low = f"1.{MIN_KUBERNETES[1]}"
    high = f"1.{MAX_KUBERNETES[1]}"
    if not match:
        raise ValueError(f"must be a Kubernetes minor version such as 1.34 (between {low} and {high})")
    minor = int(match.group(1))
    if not MIN_KUBERNETES[1] <= minor <= MAX_KUBERNETES[1]:
        if minor < 10 and MIN_KUBERNETES[1] <= minor * 10 <= MAX_KUBERNETES[1]:
            # YAML reads an unquoted 1.30 as the number 1.3, and Pulumi passes that on.
            raise ValueError(
                f"must be between {low} and {high}; YAML reads an unquoted 1.{minor}0 as the number 1.{minor}: "
                f'write it in quotes, kubernetes_version: "1.{minor}0"'
            )
        # An unquoted 1.40 arrives as 1.4: name what YAML did, whatever the minor.
        shortened = f"; YAML reads an unquoted 1.{minor}0 as 1.{minor}: quote the version" if minor < 10 else ""
        raise ValueError(f"must be between {low} and {high}: the versions this stack is schema-checked for{shortened}")
    return f"1.{minor}"


def _quantity(value: str) -> str:
    try:
        parse_quantity(value)
    except QuantityError as exc:
        raise ValueError(str(exc)) from None
    return value


def _https_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValueError("must be an https:// URL such as https://auth.example.com/realms/mcp")
    return value


def _image_registry(value: str) -> str:
    if not _REGISTRY.match(value):
        raise ValueError("must be a registry and path without a tag, such as ghcr.io/my-org/mcp")
    return value.rstrip("/")


def _sampling_rate(value: str) -> str:
    try:
        rate = float(value)
    except ValueError:
        raise ValueError("must be a number between 0 and 1, such as 0.05") from None
    if not 0 <= rate <= 1 or not _RATE.match(value):
        raise ValueError("must be a decimal between 0 and 1 written like 0.05 or 1")
    return value


def _number_as_text(value: Any) -> Any:
    """Keys that hold a number as text (quantities, rates) take a YAML number as well:
    `cpu: 0.5` and `sampling_rate: 1` mean what they say."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")  # 1e-05 -> 0.00001, as a quantity or rate is written


def _not_a_boolean(words: str) -> BeforeValidator:
    """YAML's true/false are not numbers (pydantic would read them as 1 and 0)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"{words}, not true or false")
        return value

    return BeforeValidator(check)


# Numbers in config: what YAML reads as a number, never a boolean.
Count = Annotated[int, _not_a_boolean("must be a whole number such as 3")]
Number = Annotated[float, _not_a_boolean("must be a number such as 0.5")]


def matching(pattern: str, words: str) -> AfterValidator:
    """A string check by regular expression whose error says `words`, never the pattern."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(words)
        return value

    return AfterValidator(check)


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Domain = Annotated[str, AfterValidator(_domain)]
ChartVersion = Annotated[str, AfterValidator(_semver)]
KubernetesVersion = Annotated[str, AfterValidator(_kubernetes_version)]
Quantity = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_quantity)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
ImageRegistry = Annotated[str, AfterValidator(_image_registry)]


def _image_digest(value: str) -> str:
    if not IMAGE_DIGEST.match(value):
        raise ValueError(
            "must be a digest sha256:<64 lowercase hex digits>, as `docker buildx imagetools inspect` prints it"
        )
    return value


def _untagged_digest_key(value: str) -> str:
    if "@" in value or ":" not in value.rsplit("/", 1)[-1]:
        raise ValueError("keys are image references <repository>:<tag> without a digest (python -m mcpds images)")
    return value


# `images.digests`: image reference (`<repository>:<tag>`) -> its digest.
ImageDigest = Annotated[str, AfterValidator(_image_digest)]
DigestKey = Annotated[str, AfterValidator(_untagged_digest_key)]
# MCPTelemetryConfig samplingRate is a string matching 0..1 (CRD pattern).
SamplingRate = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_sampling_rate)]


class Section(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CpuMemory(Section):
    cpu: Quantity
    memory: Quantity


class Resources(Section):
    """Container requests and limits; requests may not exceed limits."""

    requests: CpuMemory
    limits: CpuMemory

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        for kind in ("cpu", "memory"):
            request = getattr(self.requests, kind)
            limit = getattr(self.limits, kind)
            if parse_quantity(request) > parse_quantity(limit):
                raise ValueError(f"requests.{kind} ({request}) is larger than limits.{kind} ({limit})")
        return self

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return self.model_dump()
