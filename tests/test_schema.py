"""Every rendered object validates against its real schema; broken objects are rejected."""

from __future__ import annotations

import copy

import pytest

from offline.harness import available_stacks
from offline.schema import SchemaNotFoundError, SchemaValidator, crd_dir

GOOD_MCPSERVER = {
    "apiVersion": "toolhive.stacklok.dev/v1beta1",
    "kind": "MCPServer",
    "metadata": {"name": "fetch", "namespace": "data-science"},
    "spec": {"image": "ghcr.io/stackloklabs/gofetch/server:1.0.1", "transport": "streamable-http", "mcpPort": 8080},
}
GOOD_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.29.1"}]},
        },
    },
}


@pytest.fixture(scope="module")
def validator(validators) -> SchemaValidator:
    return validators("1.34")


@pytest.mark.parametrize("stack", available_stacks())
def test_every_rendered_object_is_schema_valid(stack_runs, validators, stack):
    result = stack_runs[stack]
    config_version = next(
        (v for k, v in _stack_config(stack).items() if k == "mcp-datascience:kubernetes_version"), "1.34"
    )
    validator = validators(str(config_version))
    objects = result.objects()
    assert objects, "the stack renders no objects"
    failures = {
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata'].get('name')}": errs
        for o in objects
        if (errs := validator.errors(o))
    }
    assert failures == {}


def test_valid_examples_pass(validator):
    assert validator.errors(GOOD_MCPSERVER) == []
    assert validator.errors(GOOD_DEPLOYMENT) == []


def test_broken_mcpserver_is_rejected(validator):
    broken = copy.deepcopy(GOOD_MCPSERVER)
    broken["spec"]["port"] = 8080  # removed in v0.15.0: now proxyPort
    broken["spec"]["transport"] = "websocket"
    del broken["spec"]["image"]
    errors = validator.errors(broken)
    assert any("'port' was unexpected" in e for e in errors)
    assert any("'websocket' is not one of" in e for e in errors)
    assert any("'image' is a required property" in e for e in errors)


def test_broken_deployment_is_rejected(validator):
    broken = copy.deepcopy(GOOD_DEPLOYMENT)
    broken["spec"]["replicas"] = "three"
    broken["spec"]["template"]["spec"]["containers"][0]["imagee"] = "typo"
    errors = validator.errors(broken)
    assert any(e.startswith("spec.replicas:") for e in errors)
    assert any("'imagee' was unexpected" in e for e in errors)


def test_cel_rules_are_enforced(validator):
    both = copy.deepcopy(GOOD_MCPSERVER)
    both["spec"]["authzConfigRef"] = {"name": "shared"}
    both["spec"]["authzConfig"] = {"type": "inline", "inline": {"policies": ["permit(principal, action, resource);"]}}
    assert validator.errors(both) == [
        "spec: authzConfig and authzConfigRef are mutually exclusive; use authzConfigRef to reference a shared "
        "MCPAuthzConfig"
    ]


def test_cel_sees_schema_defaults(validator):
    # `type` defaults to configMap, so an inline block without a type breaks two rules.
    obj = copy.deepcopy(GOOD_MCPSERVER)
    obj["spec"]["authzConfig"] = {"inline": {"policies": ["permit(principal, action, resource);"]}}
    errors = validator.errors(obj)
    assert any("configMap must be set when type is 'configMap'" in e for e in errors)


def test_embedded_pod_template_is_checked_as_a_pod_template(validator):
    obj = copy.deepcopy(GOOD_MCPSERVER)
    obj["spec"]["podTemplateSpec"] = {"spec": {"containers": [{"name": "mcp", "resources": {"limitz": {}}}]}}
    assert any("'limitz' was unexpected" in e for e in validator.errors(obj))


def test_list_map_keys_must_be_unique(validator):
    obj = copy.deepcopy(GOOD_MCPSERVER)
    obj["spec"]["env"] = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    assert any("duplicate entries with name" in e for e in validator.errors(obj))


def test_names_scope_and_labels_are_checked(validator):
    obj = copy.deepcopy(GOOD_DEPLOYMENT)
    obj["metadata"] = {"name": "Web_1", "labels": {"bad key!": "x", "ok": "-bad-"}}
    errors = validator.errors(obj)
    assert any("metadata.name" in e for e in errors)
    assert any("metadata.namespace" in e for e in errors)
    assert any("invalid label key" in e for e in errors)
    assert any("invalid label value" in e for e in errors)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "namespace": "y"}}
    assert any("cluster-scoped Namespace must not have a namespace" in e for e in validator.errors(ns))


def test_deprecated_and_unserved_versions_are_rejected(validator):
    old = copy.deepcopy(GOOD_MCPSERVER)
    old["apiVersion"] = "toolhive.stacklok.dev/v1alpha1"
    assert any("deprecated" in e for e in validator.errors(old))
    eso = {
        "apiVersion": "external-secrets.io/v1beta1",
        "kind": "ExternalSecret",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {},
    }
    assert any("not served" in e for e in validator.errors(eso))


def test_a_kind_without_schema_fails_instead_of_passing(validator):
    with pytest.raises(SchemaNotFoundError):
        validator.errors(
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "a"}}
        )
    with pytest.raises(SchemaNotFoundError):
        validator.errors({"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "g", "namespace": "a"}})


def test_crd_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRD_SCHEMA_DIR", str(tmp_path))
    assert crd_dir() == tmp_path
    with pytest.raises(SchemaNotFoundError):  # an empty directory knows no CRDs
        SchemaValidator("1.34", tmp_path).errors(GOOD_MCPSERVER)


def _stack_config(stack: str) -> dict:
    from offline.harness import read_stack_file

    return read_stack_file(stack)


def test_an_answer_is_remembered_by_content_and_handed_out_as_a_copy(validator):
    broken = copy.deepcopy(GOOD_MCPSERVER)
    broken["spec"]["transport"] = "carrier-pigeon"
    first = validator.errors(broken)
    assert first, "an unknown transport is rejected"
    first.clear()  # a caller changing its answer changes nobody else's
    assert validator.errors(copy.deepcopy(broken)) != []
    broken["spec"]["transport"] = "stdio"  # the same object, now valid: judged anew
    assert validator.errors(broken) == []
    assert validator.errors(GOOD_MCPSERVER) == []
