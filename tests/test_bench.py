"""The benchmark's flat baseline registers exactly what the program registers."""

from __future__ import annotations

from pathlib import Path

from offline.bench import extra_servers, scaled_config
from offline.flat import run_flat, write_records
from offline.harness import PROJECT
from offline.render import write_render


def test_the_flat_program_registers_the_same_resources_and_writes_the_same_bytes(prod, tmp_path: Path):
    records = tmp_path / "records.json"
    write_records(prod, records)
    flat = run_flat(records)

    # the same URNs, parents, dependencies (sets to the engine) and options
    def registered(run):
        return sorted((r.urn, r.parent, sorted(r.dependencies), sorted(r.options.items())) for r in run.resources)

    assert registered(flat) == registered(prod)
    ours = write_render(prod, tmp_path / "program")
    theirs = write_render(flat, tmp_path / "flat")
    for program_file, flat_file in zip(ours[:2], theirs[:2], strict=True):  # objects.yaml, releases.yaml
        assert program_file.read_bytes() == flat_file.read_bytes()


def test_scaled_config_adds_published_servers_of_every_kind():
    servers = extra_servers(6)
    assert {s["transport"] for s in servers.values()} == {"stdio", "streamable-http"}
    assert sum(bool(s["egress_hosts"]) for s in servers.values()) == 2
    assert all(s["path"] == f"/{name}" for name, s in servers.items())
    assert scaled_config(6)[f"{PROJECT}:mcp"]["custom_servers"] == servers
