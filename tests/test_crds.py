"""`make crds`: CRD schemas extracted with the real helm from chart archives (built here,
named and versioned as the pinned charts), in the layout offline/schema.py reads."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml

from offline import crds
from offline.schema import load_crds


def crd(group: str, kind: str) -> dict:
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}},
                }
            ],
        },
    }


def chart_archive(directory: Path, source: crds.CrdSource) -> tuple[str, str]:
    """A chart named and versioned as `source` pins it, with one CRD: in crds/, or (when the
    chart needs values to render its CRDs) in a template guarded by those values. A
    ConfigMap template shows that only CRDs are kept. Returns the CRD's (group, kind)."""
    group, kind = f"{source.directory.replace('-', '')}.example.org", "Widget"
    files = {
        "Chart.yaml": yaml.safe_dump({"apiVersion": "v2", "name": source.name, "version": source.pin.version}),
        "values.yaml": "".join(f"{key.split('.')[0]}: {{{key.split('.')[1]}: false}}\n" for key in source.values),
        "templates/configmap.yaml": yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        ),
    }
    if source.values:
        condition = " and ".join(f".Values.{key}" for key in source.values)
        files["templates/crd.yaml"] = f"{{{{- if {condition} }}}}\n{yaml.safe_dump(crd(group, kind))}{{{{- end }}}}\n"
    else:
        files["crds/crd.yaml"] = yaml.safe_dump(crd(group, kind))
    with tarfile.open(directory / source.archive, "w:gz") as tgz:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{source.name}/{name}")
            info.size = len(data)
            tgz.addfile(info, io.BytesIO(data))
    return group, kind


@pytest.fixture(scope="module")
def helm() -> str:
    """The helm `make` unpacks from the pinned PyPI package (make test installs it first)."""
    return crds.find_helm()


def test_crds_are_extracted_from_every_pinned_chart(helm, tmp_path, monkeypatch, capsys):
    archives = tmp_path / "archives"
    archives.mkdir()
    expected = {source.directory: chart_archive(archives, source) for source in crds.SOURCES}
    gateway = crds.versions.GATEWAY_API_CRDS_VERSION
    (archives / f"gateway-api-{gateway}-standard-install.yaml").write_text(
        yaml.safe_dump_all([crd("gateway.networking.k8s.io", "Gateway"), {"kind": "Namespace", "apiVersion": "v1"}])
    )
    monkeypatch.setenv("HELM", helm)
    out = tmp_path / "crds"
    assert crds.main(["--archives", str(archives), "--out", str(out)]) == 0
    index = load_crds(out)
    for directory, (group, kind) in expected.items():
        path = out / directory / f"{group}_{kind.lower()}s.yaml"
        assert path.is_file(), directory
        assert (group, "v1", kind) in index
        assert path.read_text().startswith("# ")  # names the chart and version it came from
    assert ("gateway.networking.k8s.io", "v1", "Gateway") in index
    assert len(index) == len(crds.SOURCES) + 1  # the ConfigMaps and the Namespace are not CRDs
    assert "gateway-api" in capsys.readouterr().out


def test_a_chart_that_renders_no_crd_is_an_error(helm, tmp_path, monkeypatch, capsys):
    archives = tmp_path / "archives"
    archives.mkdir()
    for source in crds.SOURCES:
        chart_archive(archives, source)
    # cert-manager's CRDs rendered without crds.enabled: nothing, and the run says so.
    broken = crds.CrdSource("cert-manager", crds.versions.CERT_MANAGER)
    monkeypatch.setattr(crds, "SOURCES", tuple(broken if s.directory == "cert-manager" else s for s in crds.SOURCES))
    monkeypatch.setenv("HELM", helm)
    assert crds.main(["--archives", str(archives), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcpds: error: ")
    assert "cert-manager v1.21.1 (helm template --include-crds) rendered no CustomResourceDefinition" in err
    assert len(err.strip().splitlines()) == 1


def test_missing_helm_and_missing_archives_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HELM", str(tmp_path / "no-helm"))
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(crds, "VENV_HELM", tmp_path / "none")
    assert crds.main(["--archives", str(tmp_path)]) == 2
    assert "no helm: run `make crds`" in capsys.readouterr().err
    assert crds.main(["--archives", str(tmp_path / "nope")]) == 2
    assert "--archives" in capsys.readouterr().err
