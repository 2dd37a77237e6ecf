"""Run the real `__main__.py` for a stack under Pulumi's mocks and record everything.

This is how the program is proven without a cluster or the Pulumi CLI: the same
program `pulumi up` runs executes here against a mock resource monitor that records
every registered resource (type, name, inputs, parent, dependencies, options) and
every stack output. Tests, the offline render and the offline policy run all use it.

Known pitfalls handled here (research/pulumi.md §1b):
- stack YAML is not read by the SDK: this module reads `Pulumi.<stack>.yaml` itself and
  hands the values over as Pulumi would (scalars as strings, objects as JSON);
- `secure:` values cannot be decrypted offline: each becomes a placeholder, marked secret;
- inputs arrive engine-shaped: ints as floats (turned back into ints here) and secrets
  wrapped (unwrapped, with their paths remembered for redaction);
- SDK threading can hang (pulumi/pulumi#7663): an immediate executor runs the monitor's
  calls inline, as upstream's own mock tests do;
- reads of live objects (`Resource.get`, which the program does for bring-your-own
  controllers) are answered by a `MockCluster` (offline/cluster.py) and recorded apart:
  they are the cluster's objects, not the stack's;
- MockMonitor.RegisterResource pumps the event loop from inside each registration
  (`_sync_await`), which nests every later one inside it and makes a run quadratic in
  its resources: the recording monitor answers without touching the loop;
- the SDK walks the Python stack for every resource it registers, to send the engine a
  source position and stack trace that only point diagnostics at program lines
  (pulumi/runtime/resource.py `_get_stack_trace`): nothing here records them, so a run
  sends empty ones (a tenth of a run's time otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import gc
import json
import logging
import os
import runpy
import sys
from collections.abc import Coroutine, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func

from mcpds.stackfile import DuplicateKeyError, PulumiYamlLoader, duplicate_key, not_utf8, yaml_problem
from offline.cluster import MockCluster

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mcp-datascience"
REDACTED = "REDACTED"  # also valid base64, so a redacted Secret `data` value stays schema-valid

# Resource types that are Pulumi machinery, not Kubernetes objects.
_NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml/", "kubernetes:kustomize/")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
T = TypeVar("T")


class StackFileError(Exception):
    """A stack file that is missing or not valid YAML."""


@dataclass
class Registered:
    """One resource the program registered."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]  # engine view with secrets unwrapped and ints restored
    secret_paths: list[tuple[Any, ...]]
    options: dict[str, Any]

    @property
    def is_k8s_object(self) -> bool:
        return self.custom and self.type.startswith("kubernetes:") and not self.type.startswith(_NOT_OBJECTS)

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    def redacted(self) -> dict[str, Any]:
        """A copy of the inputs with every secret value replaced by REDACTED."""
        out = _copied(self.inputs)
        for path in self.secret_paths:
            _replace(out, path, REDACTED)
        return out


@dataclass(frozen=True)
class Read:
    """One live object the program read (kubernetes:<api>:<Kind>, its id), and by whom."""

    type: str
    name: str
    id: str
    parent: str


@dataclass
class ProgramRun:
    """Everything one mocked run of the program registered, read and exported."""

    stack: str
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    logs: list[tuple[str, str]] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)

    def copy(self) -> ProgramRun:
        """A copy that shares nothing mutable with this run."""
        return ProgramRun(
            self.stack,
            [
                replace(
                    r,
                    dependencies=list(r.dependencies),
                    inputs=_copied(r.inputs),
                    secret_paths=list(r.secret_paths),
                    options=_copied(r.options),
                )
                for r in self.resources
            ],
            _copied(self.outputs),
            set(self.secret_outputs),
            list(self.logs),
            list(self.reads),
        )

    def by_urn(self, urn: str) -> Registered:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def of_type(self, type_token: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_token]

    def k8s_objects(self) -> list[Registered]:
        return [r for r in self.resources if r.is_k8s_object]

    def objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object as `kubectl apply` would take it, secrets redacted,
        sorted by kind, namespace and name."""
        objs = [_as_manifest(r.redacted()) for r in self.k8s_objects()]
        return sorted(objs, key=_object_sort_key)

    def find(self, kind: str, name: str, namespace: str | None = None) -> Registered:
        """The one Kubernetes object of this kind and name (and namespace, if given)."""
        hits = [
            r
            for r in self.k8s_objects()
            if r.inputs.get("kind") == kind
            and r.inputs.get("metadata", {}).get("name") == name
            and (namespace is None or r.inputs.get("metadata", {}).get("namespace") == namespace)
        ]
        if len(hits) != 1:
            raise LookupError(f"expected one {kind} {namespace or '*'}/{name}, found {len(hits)}")
        return hits[0]

    def releases(self) -> list[dict[str, Any]]:
        """Every Helm release: name, namespace, chart, repository, version, values."""
        out = []
        for r in self.of_type(HELM_RELEASE):
            inputs = r.redacted()
            chart = inputs.get("chart", "")
            repo = (inputs.get("repositoryOpts") or {}).get("repo")
            out.append(
                {
                    "name": inputs.get("name"),
                    "namespace": inputs.get("namespace"),
                    "chart": chart,
                    "repository": repo if repo else chart.rsplit("/", 1)[0] if chart.startswith("oci://") else None,
                    "version": inputs.get("version"),
                    "values": inputs.get("values", {}),
                }
            )
        return sorted(out, key=lambda rel: (rel["namespace"] or "", rel["name"] or ""))

    def release(self, name: str) -> Registered:
        hits = [r for r in self.of_type(HELM_RELEASE) if r.inputs.get("name") == name]
        if len(hits) != 1:
            raise LookupError(f"expected one Helm release named {name}, found {len(hits)}")
        return hits[0]

    def depends_on(self, resource: Registered, other: Registered) -> bool:
        """True when `resource` waits for `other`, directly or through dependencies."""
        seen: set[str] = set()
        todo = list(resource.dependencies)
        while todo:
            urn = todo.pop()
            if urn == other.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            with contextlib.suppress(KeyError):
                todo.extend(self.by_urn(urn).dependencies)
        return False


# ---------------------------------------------------------------------------
# Stack configuration
# ---------------------------------------------------------------------------


# The directory of stack files every tool reads unless told another: the project's own,
# or the one this variable names (the test suite runs on a fork's stack files this way,
# tests/checklist.py).
STACK_DIR_ENV = "MCPDS_STACK_DIR"


def stack_dir() -> Path:
    """Where `Pulumi.<stack>.yaml` files are read: $MCPDS_STACK_DIR, else the project root."""
    return Path(os.environ.get(STACK_DIR_ENV) or PROJECT_ROOT).resolve()


def available_stacks(root: Path | None = None) -> list[str]:
    folder = root or stack_dir()
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))


# What Pulumi reads at the top of a stack file (sdk/go/common/workspace/project.go
# ProjectStack); it ignores every other key there without a word.
STACK_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")


def read_stack_file(stack: str, root: Path | None = None) -> dict[str, Any]:
    """The `config:` map of `Pulumi.<stack>.yaml` as Pulumi reads it: full keys (an
    unprefixed key is the project's), YAML values decoded as Pulumi decodes them.

    Refuses what Pulumi refuses (a key defined twice, a key with more than one `:`) and
    what Pulumi would silently get wrong: a key outside `config:` (ignored by Pulumi)
    and a key set both with and without the project prefix (Pulumi keeps either one).
    `root` is the directory of the stack file (default: stack_dir())."""
    root = root or stack_dir()
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        stacks = ", ".join(available_stacks(root)) or "none"
        raise StackFileError(f"No stack file {path.name} in {root} (stacks present: {stacks}).")
    try:
        data = _parsed(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise StackFileError(not_utf8(path.name, exc)) from None
    except DuplicateKeyError as exc:
        raise StackFileError(duplicate_key(path.name, exc.key, exc.line, exc.first)) from None
    except yaml.YAMLError as exc:
        raise StackFileError(
            f"{path.name} is not valid YAML{yaml_problem(exc, path.read_text(encoding='utf-8'))}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise StackFileError(f"{path.name} must be a mapping with a `config:` mapping inside.")
    outside = [str(k) for k in data if k not in STACK_FILE_KEYS]
    if outside:
        raise StackFileError(
            f"{path.name}: {', '.join(repr(k) for k in outside)} is outside `config:`, where Pulumi ignores it "
            f"(it reads only {', '.join(STACK_FILE_KEYS)} at the top): indent it under config:"
        )
    return _namespaced(path.name, data.get("config") or {})


# Stack file texts already decoded in this process, and what they decode to: the test
# suite reads the same few stack files hundreds of times, and the pure-Python loader
# takes milliseconds each time.
_PARSED: dict[str, Any] = {}


def _parsed(text: str) -> Any:
    """The text decoded by PulumiYamlLoader (or {} for an empty file), as a copy the
    caller may change. A text that fails to decode raises each time and is not kept."""
    if text not in _PARSED:
        _PARSED[text] = yaml.load(text, Loader=PulumiYamlLoader) or {}
    return _copied(_PARSED[text])


def _namespaced(name: str, config: Mapping[Any, Any]) -> dict[str, Any]:
    """Config keys as Pulumi keys them (sdk/go/common/resource/config/key.go ParseKey,
    workspace/loaders.go stackConfigNamespacedWithProject): `key` is `<project>:key`,
    `ns:config:key` is `ns:key`, any other key with two or more colons is refused."""
    out: dict[str, Any] = {}
    written: dict[str, str] = {}
    for raw_key, value in config.items():
        text = str(raw_key)
        parts = text.split(":")
        if len(parts) == 1:
            key = f"{PROJECT}:{text}"
        elif len(parts) == 2:
            key = text
        elif len(parts) == 3 and parts[1] == "config":
            key = f"{parts[0]}:{parts[2]}"
        else:
            raise StackFileError(
                f"{name}: could not parse '{text}' as a configuration key (Pulumi wants `<namespace>:<name>`, "
                f"e.g. {PROJECT}:domain)"
            )
        if key in written:
            raise StackFileError(
                f"{name}: '{written[key]}' and '{text}' are both the key {key} (Pulumi reads an unprefixed key as "
                "the project's): keep one of them"
            )
        written[key] = text
        out[key] = value
    return out


def with_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `{"section.path.to.key": value}` changes to project keys; None deletes.

    The first segment is the config key (under the project namespace), the rest a path
    inside its object, as `pulumi config set --path` takes it.
    """
    out = copy.deepcopy(dict(config))
    for dotted, value in overrides.items():
        top, *rest = dotted.split(".")
        key = top if ":" in top else f"{PROJECT}:{top}"
        if not rest:
            if value is None:
                out.pop(key, None)
            else:
                out[key] = copy.deepcopy(value)
            continue
        node = out.setdefault(key, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(rest[-1], None)
        else:
            node[rest[-1]] = copy.deepcopy(value)
    return out


def to_pulumi_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Turn stack-file values into what the Pulumi runtime hands a program.

    `secure:` values (ciphertext only the Pulumi CLI can decrypt) become placeholders
    and are marked secret, as Pulumi marks the decrypted values.
    """
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, original in config.items():
        value, is_secret = _strip_secure(key, original)
        if is_secret:
            secret_keys.append(key)
        if isinstance(value, (dict, list)):
            values[key] = json.dumps(value)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            values[key] = str(int(value))  # Go's JSON form of a whole float64: 2.0 is "2"
        else:
            values[key] = "" if value is None else str(value)
    return values, secret_keys


def _strip_secure(path: str, value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return f"mock-secret-for-{path}", True
    if isinstance(value, dict):
        found = False
        out = {}
        for k, v in value.items():
            out[k], s = _strip_secure(f"{path}.{k}", v)
            found = found or s
        return out, found
    if isinstance(value, list):
        items = [_strip_secure(f"{path}[{i}]", v) for i, v in enumerate(value)]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


# ---------------------------------------------------------------------------
# Running the program
# ---------------------------------------------------------------------------


class _ImmediateExecutor(ThreadPoolExecutor):
    """Runs submitted work inline: avoids the SDK's thread-pool hang under mocks."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _Mocks(pulumi_mocks.Mocks):
    """Resources come back with their inputs as state; a few types get computed outputs;
    reads (the SDK's MockMonitor passes no `custom` for them) come from the cluster."""

    def __init__(self, cluster: MockCluster):
        self.cluster = cluster

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if args.custom is None and args.resource_id:
            return args.resource_id, self.cluster.read(args.typ, args.resource_id)
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            length = int(args.inputs.get("length", 32))
            state["result"] = "x" * length
            state["bcryptHash"] = "$2a$10$" + "x" * 53
        name = (args.inputs.get("metadata") or {}).get("name")
        return name if isinstance(name, str) and name else f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs):
        raise NotImplementedError(f"the offline harness mocks no invoke; the program called {args.token}")


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also keeps what the engine would see: parent, dependencies, options."""

    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.records: list[Registered] = []
        self.reads: list[Read] = []

    def ReadResource(self, request):  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)
        self.reads.append(Read(request.type, request.name, request.id, request.parent))
        return response

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        """MockMonitor.RegisterResource in linear time.

        MockMonitor re-serializes the whole state through `_sync_await`, which pumps the
        event loop from inside a registration: every later registration nests inside it
        and each re-queues the ready list, so a run grows quadratically with its resource
        count. Here the state is the request's own inputs plus what the mocks compute,
        and only that is serialized, without touching the event loop.
        """
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        resource_id, state = self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=raw,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
        )
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        computed = {k: v for k, v in state.items() if k not in raw or v is not raw[k]}
        state_proto = struct_pb2.Struct()
        state_proto.CopyFrom(request.object)
        if computed:
            state_proto.MergeFrom(_completed(rpc.serialize_properties(computed, {})))

        secret_paths: list[tuple[Any, ...]] = []
        self.records.append(
            Registered(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                dependencies=list(request.dependencies),
                inputs=_normalise(raw, (), secret_paths),
                secret_paths=secret_paths,
                options={
                    "protect": request.protect if request.HasField("protect") else False,
                    "delete_before_replace": request.deleteBeforeReplace,
                    "ignore_changes": list(request.ignoreChanges),
                    "retain_on_delete": request.retainOnDelete if request.HasField("retainOnDelete") else False,
                    "additional_secret_outputs": list(request.additionalSecretOutputs),
                    "provider": request.provider,
                    "version": request.version,
                    "aliases": [json_format.MessageToDict(alias) for alias in request.aliases],
                },
            )
        )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_proto)


def _completed(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that finishes without waiting (serializing plain values
    does), run here rather than by pumping the event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the mock monitor serialized a value that waits on a future")


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))


def run_program(
    stack: str,
    config: Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    root: Path | None = None,
    preview: bool = False,
    cluster: MockCluster | None = None,
) -> ProgramRun:
    """Run `<root>/__main__.py` as stack `stack` under mocks.

    `root` is a project directory holding the program and its stack files (default: this
    project, with the stack files of stack_dir()). `config` defaults to the stack file's;
    `overrides` changes keys (see with_overrides); `cluster` answers the program's reads
    (default: one that has what the config relies on).
    Raises what the program raises (for example components.config.ConfigError).
    """
    raw = read_stack_file(stack, root) if config is None else dict(config)
    root = root or PROJECT_ROOT
    if overrides:
        raw = with_overrides(raw, overrides)
    values, secret_keys = to_pulumi_config(raw)

    mocks = _Mocks(cluster or MockCluster())
    monitor = _RecordingMonitor(mocks)
    logger = logging.getLogger(f"offline.harness.{stack}")
    logger.propagate = False
    collector = _LogCollector()
    logger.addHandler(collector)
    exports: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")
        stack_resource = settings.get_root_resource()
        for name, value in getattr(stack_resource, "outputs", {}).items():
            output = pulumi.Output.from_input(value)
            exports[name] = _plain(await output.future())
            if await output.is_secret():
                secret_outputs.add(name)

    loop = asyncio.new_event_loop()
    loop.set_default_executor(_ImmediateExecutor())
    asyncio.set_event_loop(loop)
    try:
        with _program_environment(root), _no_collection(), _no_stack_traces():
            settings.ROOT.set(None)
            pulumi.runtime.set_mocks(
                mocks, project=PROJECT, stack=stack, preview=preview, logger=logger, monitor=monitor
            )
            set_all_config(values, secret_keys)
            loop.run_until_complete(run_pulumi_func(program))
    except BaseException as exc:
        exc.registered = monitor.records  # type: ignore[attr-defined] - what got created before it failed
        raise
    finally:
        logger.removeHandler(collector)
        asyncio.set_event_loop(None)
        loop.close()
        settings.ROOT.set(None)
        # A run that failed leaves its outstanding calls and outputs in the SDK's global
        # settings, where the next run would wait on tasks of this closed loop (upstream's
        # pulumi.runtime.test clears the same two).
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
    return ProgramRun(stack, monitor.records, exports, secret_outputs, collector.records, monitor.reads)


# One run per distinct (stack, configuration, project, preview) in this process: the
# pristine runs, handed out as copies (shared_run).
_SHARED_RUNS: dict[str, ProgramRun] = {}


def shared_run(
    stack: str,
    config: Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    root: Path | None = None,
    preview: bool = False,
) -> ProgramRun:
    """run_program, done once per distinct input in this process (the test suite's many
    fixtures and test files that run the same stack with the same values share it).

    The key is what the program sees: the stack, its configuration after `overrides`,
    the project directory and preview. Each caller gets its own copy, so a caller that
    changes a run (a test breaking an object on purpose) changes nobody else's. A run
    that raises is not kept. Only for callers that patch nothing the program reads (a
    patched module makes another run of the same key): those call run_program."""
    effective = with_overrides(config, overrides or {})
    key = json.dumps([stack, effective, str(root or PROJECT_ROOT), preview], sort_keys=True, default=str)
    if key not in _SHARED_RUNS:
        _SHARED_RUNS[key] = run_program(stack, effective, root=root, preview=preview)
        # Kept runs live as long as the process: collect what the run left behind, then
        # move every survivor out of the collector's sight (gc.freeze), so later
        # collections stop rescanning them (a tenth of the test suite's CPU otherwise).
        gc.collect()
        gc.freeze()
    return _SHARED_RUNS[key].copy()


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Cyclic garbage collection paused for the run, and resumed (as it was) after.

    A run frees almost nothing before it ends (every resource's inputs, outputs, futures
    and tasks stay reachable), so collecting during it only rescans live objects: a
    third of a 100-server run's time, growing with the run. What it leaves behind is
    collected once collection resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _no_stack_traces() -> Iterator[None]:
    """The SDK sends an empty stack trace (and so no source position) with each resource
    while the run lasts: the engine shows them only in diagnostics, and the harness
    records neither."""
    original = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


@contextlib.contextmanager
def _program_environment(root: Path) -> Iterator[None]:
    """Pulumi runs a program from its project directory, importable from there."""
    old_cwd = Path.cwd()
    saved_modules = _forget_modules_outside(root)
    sys.path.insert(0, str(root))
    saved_env = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PULUMI_CONFIG")}
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        os.environ.update(saved_env)
        if saved_modules:
            # Put the caller's modules back (dropping this run's), so classes it imported
            # before (ConfigError, say) are still the ones the next run raises.
            for name in {n.split(".")[0] for n in saved_modules}:
                for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
                    del sys.modules[loaded]
            sys.modules.update(saved_modules)


def _forget_modules_outside(root: Path) -> dict[str, Any]:
    """Drop cached imports of the program's packages that came from another checkout;
    returns them (name -> module) so they can be restored after the run."""
    packages = {p.parent.name for p in root.glob("*/__init__.py")}
    home = os.path.join(os.path.realpath(root), "")
    dropped: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in packages:
            origin = getattr(module, "__file__", None)
            if origin and not _real_path(origin).startswith(home):
                dropped[name] = sys.modules.pop(name)
    return dropped


@functools.cache
def _real_path(path: str) -> str:
    """A module file's path with symbolic links resolved (a module's file does not move
    while it is loaded; each run asks again for every module of the program)."""
    return os.path.realpath(path)


# ---------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------


def _normalise(value: Any, path: tuple[Any, ...], secret_paths: list[tuple[Any, ...]]) -> Any:
    if rpc.is_rpc_secret(value):
        secret_paths.append(path)
        return _normalise(rpc.unwrap_rpc_secret(value), path, [])
    if isinstance(value, dict):
        return {k: _normalise(v, (*path, k), secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, (*path, i), secret_paths) for i, v in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plain(value: Any) -> Any:
    """Stack outputs as JSON-like values (ints restored)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _copied(value: Any) -> Any:
    """A copy of engine-shaped values (dicts, lists, scalars): copy.deepcopy without its
    memo and dispatch, which made it the render's largest cost after the program."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _replace(obj: Any, path: tuple[Any, ...], new: Any) -> None:
    if not path:
        return
    node = obj
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = _redact_tree(node[path[-1]], new)


def _redact_tree(value: Any, new: Any) -> Any:
    """A secret object stays an object (its shape is not secret), its leaves do not."""
    if isinstance(value, dict):
        return {k: _redact_tree(v, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, new) for v in value]
    return new


def _as_manifest(inputs: dict[str, Any]) -> dict[str, Any]:
    head = {k: inputs[k] for k in ("apiVersion", "kind", "metadata") if k in inputs}
    rest = {k: v for k, v in inputs.items() if k not in head}
    return {**head, **rest}


def _object_sort_key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return (obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))
