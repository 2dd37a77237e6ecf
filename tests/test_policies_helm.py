"""The Helm policy: pass and fail cases, and the shipped stacks pass it."""

from __future__ import annotations

import pytest

from policies.mcp_policies.helm import HELM_RELEASE, HELM_RELEASE_PINNED
from tests.policy_support import violations as policy_violations


def violations(props: dict, type_: str = HELM_RELEASE) -> list[str]:
    return policy_violations(HELM_RELEASE_PINNED, type_, props)


@pytest.mark.parametrize(
    "props",
    [
        {"chart": "oci://ghcr.io/stacklok/toolhive/toolhive-operator", "version": "0.44.0"},
        {
            "chart": "sealed-secrets",
            "version": "2.18.5",
            "repositoryOpts": {"repo": "https://bitnami-labs.github.io/sealed-secrets"},
        },
        {"chart": "https://charts.example.com/z-1.0.0.tgz", "version": "1.0.0"},
        {"chart": "z", "version": "v1.0.0-rc.1", "repositoryOpts": {"repo": "oci://ghcr.io/x"}},
    ],
)
def test_pinned_charts_pass(props):
    assert violations(props) == []


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ({"chart": "oci://ghcr.io/x/y"}, "installs chart 'oci://ghcr.io/x/y' at no version"),
        ({"chart": "oci://ghcr.io/x/y", "version": "^1.2"}, "at ^1.2 (an exact version is required)"),
        (
            {"chart": "z", "version": "1.0.0", "repositoryOpts": {"repo": "http://charts.example.com"}},
            "from 'http://charts.example.com', which is neither https:// nor oci://",
        ),
        # A plain-HTTP repository next to an OCI chart is still a source Helm talks to.
        (
            {"chart": "oci://ghcr.io/x/y", "version": "1.0.0", "repositoryOpts": {"repo": "http://charts.example"}},
            "from 'http://charts.example', which is neither https:// nor oci://",
        ),
        (
            {"chart": "http://charts.example.com/z-1.0.0.tgz", "version": "1.0.0"},
            "pulls chart 'http://charts.example.com/z-1.0.0.tgz' over a URL that is neither https:// nor oci://",
        ),
        ({"chart": "z", "version": "1.0.0"}, "names chart 'z' without a repository"),
    ],
)
def test_unpinned_or_insecure_charts_fail(props, fragment):
    [message] = violations({"name": "rel", "namespace": "edge", **props})
    assert message.startswith("Helm release edge/rel ")
    assert fragment in message


def test_other_types_are_ignored():
    assert violations({"chart": "x"}, type_="kubernetes:core/v1:Namespace") == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_pass(stack_runs, stack):
    releases = stack_runs[stack].of_type(HELM_RELEASE)
    assert releases, "the stack installs no Helm release: the check below would pass vacuously"
    for release in releases:
        assert violations(release.inputs) == []
