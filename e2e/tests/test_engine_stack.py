"""The `e2e` stack through the real Pulumi engine on the real control plane (`make e2e`).

The program (e2e/tests/Pulumi.e2e.yaml: every controller brought, no chart) goes through
the CLI and plugins `python -m e2e.build` made, with a file backend and a passphrase
secrets provider, against the kubeconfig of `e2e.live.cluster()` where the real ToolHive
operator and Sealed Secrets controller run. In order: a seeded bad config, missing or
foreign controllers and a seeded policy violation each fail `pulumi preview` with the
engine's own output; the real CrossGuard run passes; `pulumi up` creates every resource
and the controllers reconcile them; `mcpds client-config --stack e2e` works from the
outputs; a second preview has no changes; a config change changes exactly what the mocks
predict; `pulumi destroy` leaves nothing of the stack's in the API server.

The tests share one run and depend on their order (pytest keeps file order).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.catalog import CATALOG
from components.config import PROJECT
from e2e import build, engine, live
from e2e.engine import Engine
from e2e.engine_stack import (
    FOREIGN_INGRESS_CLASS,
    POLICY_PACK,
    STACK,
    controller_releases,
    platform_objects,
    policy_virtualenv,
    stack_config,
    validated,
    write_project,
)
from e2e.stack import ApplyReport, SealedCredential, apply_all
from offline.harness import PROJECT_ROOT, ProgramRun, read_stack_file, run_program, with_overrides

POLICY_CONFIG = POLICY_PACK / "config" / "dev.json"  # the e2e stack's environment is dev
# Objects that come and go on their own (controllers' events and leader leases).
TRANSIENT_KINDS = frozenset({"Event", "Lease"})
# The config change: one server off, one server resized.
DISABLED = "huggingface"
RESIZED = "datahub"
NEW_SIZE = next(s for s in ("small", "medium", "large") if s != CATALOG[RESIZED].size)
# Engine step ops that change something (pulumi/pkg/resource/deploy/step.go).
CHANGING = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
}


@dataclass
class EngineRun:
    cluster: live.Cluster
    engine: Engine
    project: Path
    sealed: list[SealedCredential]
    baseline: set[tuple[str, str, str, str]]
    say: Any

    def pulumi(
        self, label: str, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        try:
            return self.engine.run(*args, cwd=self.project, check=check, extra_env=self.env | dict(env or {}))
        finally:
            self.say(f"  engine: {label:<44} {time.monotonic() - started:6.1f} s")

    def update(self, label: str, *args: str) -> dict[tuple[str, str], int]:
        """`up` or `destroy`; prints its three slowest resource steps from the event log and
        returns the seconds of each, by (type, name)."""
        log = self.project.parent / f"{label.replace(' ', '-')}.events.jsonl"
        # --event-log is a debug flag: PULUMI_DEBUG_COMMANDS shows it (pkg/cmd/pulumi/operations/up.go).
        self.pulumi(
            label, *args, "--yes", "--skip-preview", "--event-log", str(log), env={"PULUMI_DEBUG_COMMANDS": "true"}
        )
        steps = [(urn, step) for urn, step in engine.step_seconds(log).items() if _is_custom(urn)]
        for urn, (op, seconds) in sorted(steps, key=lambda item: -item[1][1])[:3]:
            kind, name = resource_key(urn)
            self.say(f"      slowest: {seconds:4d} s {op:<8} {kind}::{name}")
        return {resource_key(urn): seconds for urn, (_, seconds) in steps}

    @property
    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.cluster.kubeconfig)}

    def config(self) -> dict[str, Any]:
        """The project's stack file (with the run's sealed values) as Pulumi reads it."""
        return read_stack_file(STACK, self.project)

    def preview_steps(self, *extra: str, label: str = "preview --json") -> list[dict[str, Any]]:
        done = self.pulumi(label, "preview", "--json", *extra)
        return json.loads(done.stdout)["steps"]


def _is_custom(urn: str) -> bool:
    """A provider's resource (its step is its own work), not the stack or a component
    (whose step lasts as long as its children's)."""
    kind, _ = resource_key(urn)
    return not kind.startswith(("pulumi:", f"{PROJECT}:"))


def resource_key(urn: str) -> tuple[str, str]:
    """(type, name) of a URN (`urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`):
    what the mocks' records and the engine's steps have in common (a top-level
    component's URN differs between them, research/pulumi.md §1b)."""
    _, _, types, name = urn.split("::", 3)
    return types.rsplit("$", 1)[-1], name


@pytest.fixture(scope="module")
def run(say) -> Iterator[EngineRun]:
    binaries = build.ensure((*live.PROGRAMS, *engine.PROGRAMS), report=lambda line: say(f"  {line}"))
    folder = Path(tempfile.mkdtemp(prefix="mcpds-e2e-engine-"))
    started = time.monotonic()
    try:
        with live.cluster(binaries, folder / "cluster") as cluster:
            config = stack_config()
            apply_all(cluster.kube, platform_objects(validated()), ApplyReport())
            cluster.start_controllers(binaries, controller_releases(config))
            baseline = cluster.kube.all_objects(TRANSIENT_KINDS)
            pulumi = engine.install(folder / "engine", binaries)
            project, sealed = write_project(folder / "project", cluster.sealing_key.cert)
            pulumi.run("stack", "init", STACK, "--secrets-provider", "passphrase", cwd=project)
            policy_virtualenv()
            say(f"  engine: {'control plane, controllers, project':<44} {time.monotonic() - started:6.1f} s")
            yield EngineRun(cluster, pulumi, project, sealed, baseline, say)
    finally:
        if os.environ.get("E2E_KEEP"):
            say(f"  e2e engine run folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
        say(f"  engine: {'whole run':<44} {time.monotonic() - started:6.1f} s")


def _failed_preview(run: EngineRun, label: str, *args: str) -> str:
    done = run.pulumi(label, "preview", *args, check=False)
    assert done.returncode != 0, f"preview passed:\n{done.stdout}"
    return done.stdout + done.stderr


@contextlib.contextmanager
def _with_stack_file(run: EngineRun, overrides: Mapping[str, Any]) -> Iterator[None]:
    """Set config keys with `pulumi config set` for one step, then put the stack file back."""
    path = run.project / f"Pulumi.{STACK}.yaml"
    original = path.read_text()
    try:
        for key, value in overrides.items():
            run.pulumi(f"config set {key}", "config", "set", "--path", key, str(value))
        yield
    finally:
        path.write_text(original)


def _resources(run: EngineRun) -> list[dict[str, Any]]:
    exported = json.loads(run.pulumi("stack export", "stack", "export").stdout)
    return exported["deployment"].get("resources") or []


# -- refusals before anything exists ------------------------------------------------------

# When the program exits on an error, the SDK's gRPC asyncio server is torn down with the
# interpreter and grpcio may print the GeneratorExit of a coroutine it had scheduled: a
# traceback of grpcio's own Cython frames only, racy (seen in one CI run of two), with no
# frame of the program or of the Pulumi SDK. Everything else must show no traceback.
_GRPC_SHUTDOWN_NOISE = (
    "Traceback (most recent call last):",
    'File "src/python/grpcio/grpc/_cython/_cygrpc/aio/server.pyx.pxi"',
    "GeneratorExit",
)


def _program_traceback(output: str) -> bool:
    """Whether `output` holds a traceback other than grpcio's shutdown noise."""
    lines = output.splitlines()
    noise = {
        i + k
        for i in range(len(lines) - 2)
        if all(marker in lines[i + k] for k, marker in enumerate(_GRPC_SHUTDOWN_NOISE))
        for k in range(3)
    }
    return any("Traceback" in line or 'File "' in line for i, line in enumerate(lines) if i not in noise)


def test_a_seeded_bad_config_fails_the_preview_with_the_programs_message(run):
    with _with_stack_file(run, {"mcp-datascience:toolhive.rbac_scope": "clustr"}):
        output = _failed_preview(run, "preview (bad config)")
    assert "Invalid configuration for stack 'e2e' (1 problem)" in output
    assert "mcp-datascience:toolhive.rbac_scope = 'clustr': must be 'cluster' or 'namespace'" in output
    assert "Did you mean 'cluster'?" in output
    assert not _program_traceback(output), output
    assert _resources(run) == []


def test_a_missing_controller_fails_the_preview_on_its_read(run):
    with _with_stack_file(run, {"mcp-datascience:edge.ingress_class": "traefik"}):
        output = _failed_preview(run, "preview (missing IngressClass)")
    # The engine's own message for a read of an object that is not there (step.go ReadStep).
    assert "resource 'traefik' does not exist" in output
    assert "edge-requires-ingressclass-traefik" in output


def test_a_foreign_controller_fails_the_preview_with_the_programs_message(run):
    name, controller = FOREIGN_INGRESS_CLASS
    with _with_stack_file(run, {"mcp-datascience:edge.ingress_class": name}):
        output = _failed_preview(run, "preview (foreign IngressClass)")
    assert (
        f"edge.controller: existing: IngressClass {name} belongs to controller '{controller}', "
        "not 'nginx.org/ingress-controller'"
    ) in output
    assert not _program_traceback(output), output


def test_a_seeded_policy_violation_fails_the_preview_with_the_policys_name(run):
    image = "docker.io/someone/pandas-mcp:1.0.0"
    with _with_stack_file(run, {"mcp-datascience:mcp.servers.pandas.image": image}):
        output = _failed_preview(
            run,
            "preview --policy-pack (seeded violation)",
            "--policy-pack",
            str(POLICY_PACK),
            "--policy-pack-config",
            str(POLICY_CONFIG),
        )
    assert "workload-image-registry" in output
    assert "mandatory" in output
    assert image in output


# -- the stack's life ---------------------------------------------------------------------


def _mocks(config: Mapping[str, Any]) -> ProgramRun:
    return run_program(STACK, config=config)


def test_the_preview_passes_the_real_policy_pack_and_plans_every_resource(run):
    steps = run.preview_steps(
        "--policy-pack", str(POLICY_PACK), "--policy-pack-config", str(POLICY_CONFIG), label="preview --policy-pack"
    )
    ops = {resource_key(s["urn"]): s["op"] for s in steps}
    expected = _mocks(run.config())
    for resource in expected.resources:
        assert ops.get((resource.type, resource.name)) == "create", (resource.type, resource.name)
    for read in expected.reads:
        assert ops.get((read.type, read.name)) in {"read", "same"}, (read.type, read.name)


def test_up_creates_every_resource_and_the_controllers_reconcile_them(run):
    run.update("up", "up")
    expected = _mocks(run.config())
    in_state = {resource_key(r["urn"]) for r in _resources(run)}
    assert {(r.type, r.name) for r in expected.resources} <= in_state
    kube = run.cluster.kube
    for obj in expected.objects():
        meta = obj["metadata"]
        assert kube.get_or_none(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")), meta
    servers = [o for o in expected.objects() if o["kind"] == "MCPServer"]
    vmcps = [o for o in expected.objects() if o["kind"] == "VirtualMCPServer"]
    started = time.monotonic()
    live.wait_operator(kube, servers, vmcps, run.sealed)
    live.start_proxy_pods(run.cluster.plane, _binary(run, "thv-proxyrunner"), servers)
    run.say(f"  engine: {'operator and proxy runners reconciled':<44} {time.monotonic() - started:6.1f} s")
    # The state holds ciphertext only: no value the run sealed is in it.
    state = json.dumps(_resources(run))
    for credential in run.sealed:
        for value in credential.values.values():
            assert value not in state


def _binary(run: EngineRun, name: str) -> Path:
    return build.binary_path(build.BY_NAME[name], build.go_version())


def test_mcpds_client_config_reads_the_stack_outputs(run, tmp_path):
    outputs = json.loads(run.pulumi("stack output", "stack", "output", "--json").stdout)
    env = run.engine.env() | run.env | {"PATH": f"{run.engine.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "mcpds", "client-config", "--stack", STACK, "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    vscode = json.loads((tmp_path / ".vscode" / "mcp.json").read_text())
    assert {s["url"] for s in vscode["servers"].values()} == set(outputs["mcp_urls"].values())
    assert outputs["base_url"] == "https://e2e.mcp-datascience.test"


def test_a_second_preview_has_no_changes(run):
    run.pulumi("preview --expect-no-changes", "preview", "--expect-no-changes")


def _changes(before: ProgramRun, after: ProgramRun) -> dict[tuple[str, str], str]:
    """What the mocks say a change of config changes: (type, name) -> create/update/delete."""
    old = {(r.type, r.name): r.inputs for r in before.resources}
    new = {(r.type, r.name): r.inputs for r in after.resources}
    out = dict.fromkeys(new.keys() - old.keys(), "create")
    out |= dict.fromkeys(old.keys() - new.keys(), "delete")
    out |= {key: "update" for key in old.keys() & new.keys() if old[key] != new[key]}
    return out


def test_a_config_change_changes_exactly_what_the_mocks_predict(run):
    change = {f"mcp.servers.{DISABLED}.enabled": False, f"mcp.servers.{RESIZED}.size": NEW_SIZE}
    before = run.config()
    expected = _changes(_mocks(before), _mocks(with_overrides(before, change)))
    for key, value in change.items():
        run.pulumi(f"config set {key}", "config", "set", "--path", key, str(value).lower())
    steps = run.preview_steps()
    planned = {resource_key(s["urn"]): CHANGING[s["op"]] for s in steps if s["op"] in CHANGING}
    assert planned == expected
    assert expected[("kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer", f"mcp-mcpserver-{DISABLED}")] == "delete"
    assert expected[("kubernetes:toolhive.stacklok.dev/v1beta1:MCPServer", f"mcp-mcpserver-{RESIZED}")] == "update"

    run.update("up (config change)", "up")
    kube, namespace = run.cluster.kube, "data-science"
    live.wait_for(
        lambda: [n for n in (DISABLED,) if kube.get_or_none("apps/v1", "Deployment", n, namespace)],
        live.RECONCILE_TIMEOUT,
        "removal of the disabled server's Deployment",
    )
    _stop_proxy_runner(run, namespace, DISABLED)
    assert kube.get_or_none("toolhive.stacklok.dev/v1beta1", "MCPServer", DISABLED, namespace) is None
    resized = kube.get("toolhive.stacklok.dev/v1beta1", "MCPServer", RESIZED, namespace)
    rendered = next(
        o for o in _mocks(run.config()).objects() if o["kind"] == "MCPServer" and o["metadata"]["name"] == RESIZED
    )
    assert resized["spec"]["podTemplateSpec"] == rendered["spec"]["podTemplateSpec"]
    run.pulumi("preview --expect-no-changes (after)", "preview", "--expect-no-changes")


def _stop_proxy_runner(run: EngineRun, namespace: str, name: str) -> None:
    """What the kubelet does when the proxy Deployment's Pod goes: the runner stops."""
    supervisor = run.cluster.plane.supervisor
    for process in list(supervisor.processes):
        if process.name == f"proxyrunner-{namespace}-{name}":
            supervisor.stop(process)


def test_destroy_leaves_nothing_of_the_stack_in_the_api_server(run):
    seconds = run.update("destroy", "destroy")
    assert _resources(run) == []
    # Deleted in the background (components/mcp_servers.py VMCP_ANNOTATIONS): no race with
    # the operator, which re-creates its Deployment under a foreground delete for minutes.
    vmcp = ("kubernetes:toolhive.stacklok.dev/v1beta1:VirtualMCPServer", "mcp-virtualmcpserver-gov-data")
    assert seconds[vmcp] < 30, seconds[vmcp]
    for server in CATALOG:
        _stop_proxy_runner(run, "data-science", server)
    kube = run.cluster.kube
    live.wait_for(
        lambda: sorted(map(str, kube.all_objects(TRANSIENT_KINDS) - run.baseline)),
        live.RECONCILE_TIMEOUT,
        "cluster as it was before the stack",
    )
