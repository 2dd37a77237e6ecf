"""Images by digest in production (components/images.py, image_pins.py, mcpds/images.py).

Every digest in this file is MADE UP (offline/made_up_digests.py, or a repeated hex
digit): none names a real image. They check where the program puts a digest, not which.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components import versions
from components.config import ConfigError
from components.image_pins import ImagePins
from components.images import preflight, stack_images, unpinned
from components.stack_config import parse_config
from mcpds.cli import CliError
from mcpds.images import read_digests
from offline.chart_contract import Contract
from offline.made_up_digests import made_up_digest, made_up_digests
from offline.policy_run import check_run, stack_config
from policies.mcp_policies import digests as digest_policy
from policies.mcp_policies.kube import parse_image, pod_templates, values_images
from tests.policy_support import violations
from tests.stackconfig import FIXTURE_STACKS, base_config

ROOT = Path(__file__).resolve().parent.parent
MADE_UP = "sha256:" + "ab" * 32  # made up


def _pinned(stack: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Overrides that give every image of `stack` (with `extra`) a digest: its own, else a made-up one."""
    config = stack_config(stack, extra)
    return {**(extra or {}), "images.digests": {**config.images.digests, **made_up_digests(config)}}


def _every_image(run) -> list[tuple[str, str]]:
    """(where, reference) of every image the recorded resources name: pod templates and
    MCPServers, and every image a Helm release's values name."""
    out = []
    for r in run.resources:
        for template in pod_templates(r.type, r.inputs):
            out += [(f"{template.where} {c.name}", c.image) for c in template.containers if c.image]
        if r.type == "kubernetes:helm.sh/v3:Release":
            out += [(f"release {r.inputs['name']} {path}", ref) for path, ref, _ in values_images(r.inputs["values"])]
    return out


# --- where the digests land ----------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        None,
        # the optional charts: NGINX Gateway Fabric, External Secrets, external-dns
        {
            "edge": {"controller": "gateway-api"},
            "dns": {"manage_records": True},
            "secrets": {"backend": "external", "external": {"provider": {"aws": {"service": "SecretsManager"}}}},
            "secrets.allow_missing": True,
        },
    ],
    ids=["prod", "optional-charts"],
)
def test_with_digests_every_image_reference_carries_its_own(run, extra):
    pinned = _pinned("prod", extra)
    result = run("prod", pinned)
    images = _every_image(result)
    # Exactly the images the deploy resolves: none is run that is not listed, none listed unused.
    assert {ref.partition("@")[0] for _, ref in images} == set(stack_images(stack_config("prod", extra)))
    for where, ref in images:
        image = parse_image(ref)
        assert image.digest is not None, f"{where}: {ref} has no digest"
        # The digest given for exactly this image: no image got another's.
        assert image.digest == pinned["images.digests"][ref.partition("@")[0]], f"{where}: {ref}"


def test_each_chart_gets_the_digest_the_way_its_template_reads_it(run_fixture):
    pinned = {"images.digests": made_up_digests(stack_config("prod", root=FIXTURE_STACKS))}
    result = run_fixture("prod", pinned)
    values = {r["name"]: r["values"] for r in result.releases()}
    cm = versions.CERT_MANAGER_IMAGES["controller"]
    # cert-manager: `digest` beside the tag (_helpers.tpl "cert-manager.image").
    assert values["cert-manager"]["image"] == {
        "repository": cm.repository,
        "tag": "v1.21.1",
        "digest": made_up_digest(cm.ref),
    }
    assert values["cert-manager"]["acmesolver"]["image"]["digest"] == made_up_digest(
        versions.CERT_MANAGER_IMAGES["acmesolver"].ref
    )
    kps = values["kube-prometheus-stack"]
    prom = versions.KUBE_PROMETHEUS_STACK_IMAGES["prometheus"]
    # kube-prometheus-stack: `sha` is the hex part; kube-state-metrics': the whole digest.
    assert kps["prometheus"]["prometheusSpec"]["image"] == {
        "registry": "quay.io",
        "repository": "prometheus/prometheus",
        "tag": prom.tag,
        "sha": made_up_digest(prom.ref).removeprefix("sha256:"),
    }
    ksm = versions.KUBE_PROMETHEUS_STACK_IMAGES["kube-state-metrics"]
    assert kps["kube-state-metrics"]["image"]["sha"] == made_up_digest(ksm.ref)
    # Charts without a digest value: the digest rides in the tag.
    godaddy = versions.GODADDY_WEBHOOK_IMAGE
    assert values["godaddy-webhook"]["image"]["tag"] == f"0.8.0@{made_up_digest(godaddy.ref)}"
    sealed = versions.SEALED_SECRETS_IMAGE
    assert values["sealed-secrets"]["image"] == {
        "registry": "docker.io",
        "repository": "bitnami/sealed-secrets-controller",
        "tag": f"0.36.6@{made_up_digest(sealed.ref)}",
    }
    # ToolHive: plain strings, passed on unchanged.
    runner = versions.TOOLHIVE_IMAGES["proxyrunner"]
    assert (
        values["toolhive-operator"]["operator"]["toolhiveRunnerImage"] == f"{runner.ref}@{made_up_digest(runner.ref)}"
    )


def test_a_reference_already_pinned_by_its_user_is_kept_and_needs_nothing():
    pinned = f"registry.example.com/mirror/hf-mcp-server:0.4.23@{MADE_UP}"
    config = parse_config({**base_config(), "mcp": {**base_config()["mcp"], "servers": {
        **base_config()["mcp"]["servers"], "huggingface": {"image": pinned}}}}, "prod")  # fmt: skip
    assert pinned in stack_images(config)
    assert pinned not in unpinned(config)
    assert ImagePins(config.images.digests).ref(pinned) == pinned


def test_dev_runs_tags_and_keeps_them(fixture_dev):
    assert not [ref for _, ref in _every_image(fixture_dev) if parse_image(ref).digest]


def test_chart_image_pins_are_the_charts_own_defaults():
    """The images written into the values are those the pinned chart versions default to
    (values.yaml, else the chart's appVersion): a chart bump must move them too."""

    def default(chart: str, version: str, path: str, sub: str | None = None) -> tuple[str, str]:
        contract = Contract.load(chart, version)
        node: Any = contract.defaults
        for key in path.split("."):
            node = node[key]
        meta = yaml.safe_load((contract.directory / ("charts/" + sub if sub else "") / "Chart.yaml").read_text())
        registry = node.get("registry") or ""
        repository = f"{registry}/{node['repository']}" if registry else node["repository"]
        tag = node.get("tag") or str(meta["appVersion"])
        if sub == "kube-state-metrics" and not node.get("tag"):
            tag = f"v{meta['appVersion']}"  # its _helpers.tpl: default (printf "v%s" .Chart.AppVersion)
        return repository, tag

    kps, images = ("kube-prometheus-stack", "88.5.3"), versions.KUBE_PROMETHEUS_STACK_IMAGES
    cases = {
        "prometheus-operator": default(*kps, "prometheusOperator.image"),
        "config-reloader": default(*kps, "prometheusOperator.prometheusConfigReloader.image"),
        "prometheus": default(*kps, "prometheus.prometheusSpec.image"),
        "alertmanager": default(*kps, "alertmanager.alertmanagerSpec.image"),
        "admission-certgen": default(*kps, "prometheusOperator.admissionWebhooks.patch.image"),
        "grafana": default(*kps, "grafana.image", "grafana"),
        "grafana-sidecar": default(*kps, "grafana.sidecar.image", "grafana"),
        "kube-state-metrics": default(*kps, "kube-state-metrics.image", "kube-state-metrics"),
    }
    for name, (repository, tag) in cases.items():
        assert (images[name].repository, images[name].tag) == (repository, tag), name
    cm = Contract.load("cert-manager", versions.CERT_MANAGER.version).defaults
    for component, image in versions.CERT_MANAGER_IMAGES.items():
        name = (cm if component == "controller" else cm[component])["image"]["name"]
        assert image.repository == f"{cm['imageRegistry']}/{cm['imageNamespace']}/{name}", component
        assert image.tag == versions.CERT_MANAGER.version
    tools = Contract.load("toolhive-operator", versions.TOOLHIVE_OPERATOR.version).defaults["operator"]
    for key, value in (("image", "operator"), ("toolhiveRunnerImage", "proxyrunner"), ("vmcpImage", "vmcp")):
        assert tools[key] == versions.TOOLHIVE_IMAGES[value].ref


# --- production refuses an image without a digest ------------------------------------------


def test_a_production_update_without_digests_is_refused_naming_each_image(monkeypatch):
    config = parse_config(base_config(), "prod")
    monkeypatch.setattr("components.runtime.offline", lambda: False)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)  # the update step of `pulumi up`
    with pytest.raises(ConfigError) as err:
        preflight(config, "prod")
    message = str(err.value)
    assert f"lacks {len(stack_images(config))} image(s)" in message
    assert "quay.io/jetstack/cert-manager-controller:v1.21.1" in message
    assert "python -m mcpds images --stack prod --write" in message
    # With every digest the update goes ahead.
    pinned = parse_config({**base_config(), "images": {"digests": made_up_digests(config)}}, "prod")
    assert preflight(pinned, "prod") == []


def test_a_production_preview_and_the_offline_render_warn(run):
    result = run("prod", {"images.digests": None})
    warned = [m for level, m in result.logs if level == "warning" and "have no digest" in m]
    assert len(warned) == 1
    assert "python -m mcpds images --stack prod" in warned[0]


def test_dev_may_run_tags_even_in_an_update(monkeypatch):
    config = parse_config({**base_config(), "environment": "dev"}, "dev")
    monkeypatch.setattr("components.runtime.offline", lambda: False)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    assert preflight(config, "dev")  # unpinned, and allowed


def test_a_digest_left_behind_by_a_version_bump_is_warned_about(run):
    stale = "quay.io/jetstack/cert-manager-controller:v1.20.0"
    result = run("prod", {"images.digests": {stale: MADE_UP}})
    assert any(stale in m and "does not run" in m for level, m in result.logs if level == "warning")


@pytest.mark.parametrize(
    ("digests", "fragment"),
    [
        ({"quay.io/x/y:1.0": "sha256:abc"}, "must be a digest sha256:<64 lowercase hex digits>"),
        ({"quay.io/x/y:1.0": "SHA256:" + "AB" * 32}, "must be a digest"),
        ({f"quay.io/x/y:1.0@{MADE_UP}": MADE_UP}, "keys are image references <repository>:<tag> without a digest"),
        ({"quay.io/x/y": MADE_UP}, "keys are image references"),
    ],
)
def test_bad_digests_are_refused_with_the_key(digests, fragment):
    with pytest.raises(ConfigError) as err:
        parse_config({**base_config(), "images": {"digests": digests}}, "prod")
    assert "images.digests" in str(err.value)
    assert fragment in str(err.value)


# --- the policy rule -----------------------------------------------------------------------

MCP = "kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _mcpserver(image: str) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": "data-science"}, "spec": {"image": image, "podTemplateSpec": {}}}


def _release(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": "kube-prometheus-stack", "namespace": "monitoring", "values": values}


def test_rule_catches_a_tag_and_passes_a_digest():
    [msg] = violations(digest_policy.IMAGE_DIGEST_IN_PROD, MCP, _mcpserver("ghcr.io/acme/x:1.0"))
    assert "ghcr.io/acme/x:1.0' is not pinned by digest" in msg
    assert violations(digest_policy.IMAGE_DIGEST_IN_PROD, MCP, _mcpserver(f"ghcr.io/acme/x:1.0@{MADE_UP}")) == []


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ({"registry": "quay.io", "repository": "prometheus/prometheus", "tag": "v3.14.0"}, False),
        ({"registry": "quay.io", "repository": "prometheus/prometheus", "tag": "v3.14.0", "sha": "ab" * 32}, True),
        ({"repository": "quay.io/jetstack/cert-manager-controller", "tag": "v1.21.1", "digest": MADE_UP}, True),
        ({"repository": "quay.io/snowdrop/cert-manager-webhook-godaddy", "tag": f"0.8.0@{MADE_UP}"}, True),
        ({"repository": "quay.io/snowdrop/cert-manager-webhook-godaddy"}, False),  # tag left to the chart
    ],
)
def test_rule_reads_each_charts_digest_shape(image, pinned):
    found = violations(digest_policy.IMAGE_DIGEST_IN_PROD, RELEASE, _release({"prometheus": {"image": image}}))
    assert (found == []) is pinned, found


def test_prod_policy_run_fails_without_digests_and_passes_with_them(run):
    """`make policy STACK=prod` gives a production stack made-up digests (check_stack); the
    pack itself refuses the stack without them, as it is committed."""
    unpinned_run = {"images.digests": None}
    failing = check_run(run("prod", unpinned_run), overrides=unpinned_run).of("image-digest-in-prod")
    assert failing
    assert all(v.level.value == "mandatory" for v in failing)
    named = {re.search(r"image '([^']+)' is not pinned", v.message).group(1) for v in failing}
    # every image without a digest, nothing else
    assert named == set(unpinned(stack_config("prod", unpinned_run)))
    assert check_run(run("prod", _pinned("prod")), overrides=_pinned("prod")).of("image-digest-in-prod") == []


def test_dev_disables_the_rule():
    config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    assert config["image-digest-in-prod"]["enforcementLevel"] == "disabled"
    assert "tag" in config["image-digest-in-prod"]["reason"]  # a relaxation states its reason
    assert "image-digest-in-prod" not in json.loads((ROOT / "policies" / "config" / "prod.json").read_text())


# --- the command line and the workflows ------------------------------------------------------


def _project(tmp_path: Path) -> Path:
    """A directory where `python -m mcpds` runs on a copy of the fixture Pulumi.prod.yaml."""
    for name in (".venv", "components", "mcpds", "offline", "policies"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copy(FIXTURE_STACKS / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    return tmp_path


def _fixture_prod():
    return stack_config("prod", root=FIXTURE_STACKS)


def _mcpds(project: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None):
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "mcpds", "images", "--stack", "prod", *args],
        cwd=project, input=stdin, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def test_images_lists_what_has_no_digest_and_write_refuses_bad_lines(tmp_path):
    project = _project(tmp_path)
    listed = _mcpds(project).stdout.split()
    assert listed == unpinned(_fixture_prod())
    running = set(stack_images(_fixture_prod()))
    for bad, fragment in [
        (f"quay.io/not/run:1 {MADE_UP}", "is not an image this stack runs"),
        (f"{listed[0]} sha256:abc", "is not a digest"),
        (f"{listed[0]}", "expected `<image reference> <digest>`"),
    ]:
        with pytest.raises(CliError, match=re.escape(fragment)):
            read_digests([f"{listed[1]} {MADE_UP}", "# a comment", "", bad], running)
    # The command: one line on stderr, and the file as it was.
    before = (project / "Pulumi.prod.yaml").read_text()
    result = _mcpds(project, "--write", stdin=f"{listed[1]} {MADE_UP}\n{listed[0]} sha256:abc\n")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "stdin line 2" in result.stderr
    assert (project / "Pulumi.prod.yaml").read_text() == before


def _fake_docker(bin_dir: Path, missing: str = "") -> None:
    """A `docker buildx imagetools inspect` that answers with a made-up descriptor."""
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(
        "#!/usr/bin/env bash\n"
        'ref="$4"\n'
        f'[ -n "{missing}" ] && [ "$ref" = "{missing}" ] && exit 1\n'
        'hex=$(printf "made-up digest, not a real image: %s" "$ref" | sha256sum | cut -d" " -f1)\n'
        'printf \'{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":1}\\n\' "$hex"\n'
    )
    script.chmod(0o755)


def test_the_deploy_script_resolves_and_stores_every_digest(tmp_path):
    project = _project(_mkdir(tmp_path / "project"))
    _fake_docker(tmp_path / "bin")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    result = _resolve(project, env)
    assert result.returncode == 0, result.stderr
    config = _fixture_prod()
    assert _stored(project) == {**config.images.digests, **{ref: made_up_digest(ref) for ref in unpinned(config)}}


def test_the_deploy_script_stops_on_an_image_it_cannot_resolve_and_the_preview_goes_on(tmp_path):
    project = _project(_mkdir(tmp_path / "project"))
    missing = unpinned(_fixture_prod())[0]
    _fake_docker(tmp_path / "bin", missing)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    before = (project / "Pulumi.prod.yaml").read_text()
    strict = _resolve(project, env)
    assert strict.returncode == 1
    assert f"cannot resolve {missing}" in strict.stdout
    assert (project / "Pulumi.prod.yaml").read_text() == before
    lenient = _resolve(project, env, "--allow-missing")
    assert lenient.returncode == 0, lenient.stderr
    assert set(unpinned(_fixture_prod())) - set(_stored(project)) == {missing}


def _resolve(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = ROOT / ".github" / "scripts" / "resolve-digests"
    return subprocess.run(
        ["bash", str(script), "prod", *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def _stored(project: Path) -> dict[str, str]:
    return yaml.safe_load((project / "Pulumi.prod.yaml").read_text())["config"]["mcp-datascience:images"]["digests"]


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_preview_relaxes_only_the_digest_rule(tmp_path, stack):
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    [step] = [s for s in workflow["jobs"]["preview"]["steps"] if s.get("name") == "Policy config of the preview"]
    command = step["run"].replace("${{ matrix.stack }}", stack)
    subprocess.run(["bash", "-c", command], cwd=ROOT, env={**os.environ, "RUNNER_TEMP": str(tmp_path)}, check=True)
    made = json.loads((tmp_path / "policy-config.json").read_text())
    shipped = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
    rule = made.pop("image-digest-in-prod")
    shipped_rule = shipped.pop("image-digest-in-prod", None)
    assert made == shipped
    if stack == "dev":
        assert rule == shipped_rule  # already off in dev, reason kept
    else:
        assert rule["enforcementLevel"] == "advisory"
        assert "pushed only after the merge" in rule["reason"]
