"""`verify` against an edge with a Let's Encrypt staging certificate (what dev gets): the
TLS failure names the staging CA and how to trust it; with `--ca-bundle` it is trusted."""

from __future__ import annotations

import datetime
import ipaddress
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcpds import cli
from tests.loopback import deployment as lb


def _cert(subject: str, issuer: str, key, signer, *, ca: bool, ip: str | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def staging_chain(directory: Path) -> tuple[Path, Path, Path]:
    """Root, intermediate and leaf named as Let's Encrypt names its staging hierarchy."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    root_name, inter_name = "(STAGING) Pretend Pear X1", "(STAGING) Ersatz Edamame E1"
    root = _cert(root_name, root_name, keys[0], keys[0], ca=True)
    inter = _cert(inter_name, root_name, keys[1], keys[0], ca=True)
    leaf = _cert("127.0.0.1", inter_name, keys[2], keys[1], ca=False, ip="127.0.0.1")
    pem = serialization.Encoding.PEM
    chain, key, roots = directory / "chain.pem", directory / "key.pem", directory / "le-staging.pem"
    chain.write_bytes(leaf.public_bytes(pem) + inter.public_bytes(pem))
    key.write_bytes(keys[2].private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    roots.write_bytes(root.public_bytes(pem))
    return chain, key, roots


@pytest.fixture(scope="module")
def staging_edge(tmp_path_factory):
    """nginx with a staging-issued certificate, routing /demo to a port nothing listens on."""
    directory = tmp_path_factory.mktemp("staging")
    chain, key, roots = staging_chain(directory)
    nginx, tls_port = lb.start_nginx({"/demo": lb.free_port()}, lb.free_port(), tls_cert=(chain, key))
    try:
        yield f"https://127.0.0.1:{tls_port}", roots
    finally:
        lb.stop(nginx.proc)


def _outputs(tmp_path: Path, base: str) -> Path:
    path = tmp_path / "outputs.json"
    route = {"name": "demo", "path": "/demo", "service": "mcp-demo-proxy", "port": 8101}
    server = {"transport": "streamable-http", "auth": "none", "group": None, "tools": ["echo"], "route": "/demo"}
    path.write_text(
        json.dumps(
            {
                "environment": "dev",
                "domain": "127.0.0.1",
                "base_url": base,
                "mcp_namespace": "data-science",
                "mcp_routes": [route],
                "mcp_servers": {"demo": server},
                "mcp_urls": {"demo": f"{base}/demo/mcp"},
                "penrose_outputs_url": None,
                "web_urls": {},
            }
        )
    )
    return path


def test_a_staging_certificate_is_named_with_how_to_trust_it(staging_edge, tmp_path, capsys):
    base, roots = staging_edge
    report_path = tmp_path / "report.json"
    argv = ["verify", "--outputs", str(_outputs(tmp_path, base)), "--timeout", "5", "--no-probe-plan"]
    assert cli.main([*argv, "--json", str(report_path)]) == 1
    err = capsys.readouterr().err
    report = json.loads(report_path.read_text())
    assert {f["class"] for f in report["failures"]} == {"tls"}
    [advice] = [line for line in err.splitlines() if line.startswith("tls: ")]
    assert "Let's Encrypt's staging CA ((STAGING) Ersatz Edamame E1)" in advice
    assert "--ca-bundle le-staging.pem" in advice
    assert "letsencrypt-stg-root-x1.pem" in advice
    assert report["tls_advice"] == advice.removeprefix("tls: ")

    # Trusted through --ca-bundle: no TLS failure is left (the route's upstream is down).
    assert cli.main([*argv, "--ca-bundle", str(roots), "--json", str(report_path)]) == 1
    report = json.loads(report_path.read_text())
    assert "tls" not in {f["class"] for f in report["failures"]}
    assert report["tls_advice"] is None
    assert "tls: " not in capsys.readouterr().err


def test_a_private_ca_gets_no_staging_advice(tmp_path):
    from mcpds.tls import staging_advice

    cert, key = lb.self_signed_cert(tmp_path)
    nginx, tls_port = lb.start_nginx({"/demo": lb.free_port()}, lb.free_port(), tls_cert=(cert, key))
    try:
        assert staging_advice(f"https://127.0.0.1:{tls_port}", 5) is None
    finally:
        lb.stop(nginx.proc)
    assert staging_advice("http://127.0.0.1:1", 1) is None
