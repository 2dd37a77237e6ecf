"""The Helm policy: pass and fail cases, and the shipped stacks pass it."""

from __future__ import annotations

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from policies.mcp_policies.helm import HELM_RELEASE, HELM_RELEASE_PINNED

OPTS = PolicyResourceOptions(
    protect=False,
    ignore_changes=[],
    delete_before_replace=None,
    aliases=[],
    custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
    additional_secret_outputs=[],
)


def violations(props: dict, type_: str = HELM_RELEASE) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(type_, props, "urn:x", "rel", OPTS, None, {})
    HELM_RELEASE_PINNED.validate(args, lambda message, urn=None: found.append(message))
    return found


@pytest.mark.parametrize(
    "props",
    [
        {"chart": "oci://ghcr.io/stacklok/toolhive/toolhive-operator", "version": "0.44.0"},
        {
            "chart": "sealed-secrets",
            "version": "2.18.5",
            "repositoryOpts": {"repo": "https://bitnami-labs.github.io/sealed-secrets"},
        },
    ],
)
def test_pinned_charts_pass(props):
    assert violations(props) == []


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ({"chart": "oci://ghcr.io/x/y"}, "at no version"),
        ({"chart": "oci://ghcr.io/x/y", "version": "^1.2"}, "at ^1.2"),
        ({"chart": "z", "version": "1.0.0", "repositoryOpts": {"repo": "http://charts.example.com"}}, "from 'http://"),
        ({"chart": "z", "version": "1.0.0"}, "from 'no repository'"),
    ],
)
def test_unpinned_or_insecure_charts_fail(props, fragment):
    [message] = violations(props)
    assert fragment in message


def test_other_types_are_ignored():
    assert violations({"chart": "x"}, type_="kubernetes:core/v1:Namespace") == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_pass(stack_runs, stack):
    for release in stack_runs[stack].of_type(HELM_RELEASE):
        assert violations(release.inputs) == []
