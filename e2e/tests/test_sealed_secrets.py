"""Point 4: what `python -m mcpds seal` wrote opens in the real Sealed Secrets controller."""

from __future__ import annotations

import base64

from e2e.controllers import SEALING_KEY_LABEL
from e2e.live import SEALING_KEY_SECRET
from e2e.stack import SCOPES
from e2e.tests.conftest import checked


def test_every_credential_was_sealed_and_rendered_as_a_sealed_secret(live):
    assert live.sealed, "the stack declares no credential: nothing would prove the sealing path"
    rendered = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in live.rendered("SealedSecret")}
    assert {(c.namespace, c.name) for c in live.sealed} == rendered


def test_each_scope_was_exercised(live):
    assert {c.scope for c in live.sealed} == set(SCOPES[: len(live.sealed)])
    assert len(live.sealed) >= len(SCOPES), "fewer credentials than scopes: some scope goes unproven"


def test_the_controller_unseals_exactly_the_sealed_values(live):
    for credential in live.sealed:
        secret = live.kube.get("v1", "Secret", credential.name, credential.namespace)
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        assert data == dict(credential.values), f"{credential.namespace}/{credential.name} ({credential.scope})"
        owners = [(o["kind"], o["name"]) for o in secret["metadata"].get("ownerReferences", [])]
        assert owners == [("SealedSecret", credential.name)]
        checked(live, f"Secret {credential.namespace}/{credential.name}")


def test_sealed_secrets_report_synced(live):
    for credential in live.sealed:
        sealed = live.kube.get("bitnami.com/v1alpha1", "SealedSecret", credential.name, credential.namespace)
        conditions = {c["type"]: c for c in sealed.get("status", {}).get("conditions", [])}
        assert conditions["Synced"]["status"] == "True", conditions["Synced"].get("message")


def test_the_controller_uses_the_registered_key_and_made_none_of_its_own(live):
    setup = live.cluster.sealed_secrets
    keys = live.kube.list("v1", "Secret", setup.namespace, selector=SEALING_KEY_LABEL)
    assert [k["metadata"]["name"] for k in keys] == [SEALING_KEY_SECRET]
