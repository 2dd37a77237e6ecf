"""`python -m mcpds seal`: ciphertext the Sealed Secrets controller can open, and only
under the namespace/name (scope) it was sealed for; safe edits of the stack file."""

from __future__ import annotations

import base64
import datetime
import io
import shutil
import struct
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from components.config import check_ciphertext
from mcpds.cli import main
from offline.harness import PROJECT_ROOT, read_stack_file, run_program
from tests.stackconfig import FIXTURE_STACKS

VALUE = b"hf_TestTokenValue-1234567890"


# ---------------------------------------------------------------------------
# The controller's side, written here independently of mcpds/seal.py:
# pkg/crypto/crypto.go HybridDecrypt and v1alpha1.EncryptionLabel.
# ---------------------------------------------------------------------------


def controller_unseal(private_key: rsa.RSAPrivateKey, ciphertext: str, label: bytes) -> bytes:
    blob = base64.standard_b64decode(ciphertext)
    if len(blob) < 2:
        raise ValueError("SealedSecret data is too short")
    (rsa_len,) = struct.unpack(">H", blob[:2])
    if len(blob) < rsa_len + 2:
        raise ValueError("SealedSecret data is too short")
    session_key = private_key.decrypt(
        blob[2 : 2 + rsa_len],
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None),
    )
    return AESGCM(session_key).decrypt(b"\x00" * 12, blob[2 + rsa_len :], None)


def controller_label(namespace: str, name: str, annotations: dict[str, str]) -> bytes:
    if annotations.get("sealedsecrets.bitnami.com/cluster-wide") == "true":
        return b""
    if annotations.get("sealedsecrets.bitnami.com/namespace-wide") == "true":
        return namespace.encode()
    return f"{namespace}/{name}".encode()


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def cert_pem(key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate like the controller's (`kubeseal --fetch-cert`)."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("cert") / "controller.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def seal_cli(monkeypatch, capsys, args: list[str], stdin: bytes = VALUE) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["seal", *args])
    out = capsys.readouterr()
    return code, out.out.strip(), out.err.strip()


def args_for(cert: Path, namespace="data-science", name="hf-token", key="token", *extra: str) -> list[str]:
    return ["--cert", str(cert), "--namespace", namespace, "--name", name, "--key", key, *extra]


# ---------------------------------------------------------------------------
# Round trip and scopes
# ---------------------------------------------------------------------------


def test_sealed_value_opens_with_the_controller_scheme(monkeypatch, capsys, key, cert_pem):
    code, out, err = seal_cli(monkeypatch, capsys, args_for(cert_pem))
    assert (code, err) == (0, "")
    assert controller_unseal(key, out, b"data-science/hf-token") == VALUE
    # Layout: uint16 BE RSA length (2048-bit key: 256) + RSA + AES-GCM(value) + 16-byte tag.
    blob = base64.b64decode(out)
    assert struct.unpack(">H", blob[:2]) == (256,)
    assert len(blob) == 2 + 256 + len(VALUE) + 16
    assert check_ciphertext(out) == out  # the config validator accepts it


def test_strict_scope_binds_namespace_and_name(monkeypatch, capsys, key, cert_pem):
    _, out, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem))
    for label in (b"data-science/other-secret", b"other-ns/hf-token", b"data-science", b""):
        with pytest.raises(ValueError, match="Decryption failed"):
            controller_unseal(key, out, label)


def test_namespace_wide_and_cluster_wide_labels(monkeypatch, capsys, key, cert_pem):
    _, ns_wide, _ = seal_cli(
        monkeypatch, capsys, args_for(cert_pem, "monitoring", "x", "k", "--scope", "namespace-wide")
    )
    assert controller_unseal(key, ns_wide, controller_label("monitoring", "any-name", {
        "sealedsecrets.bitnami.com/namespace-wide": "true"})) == VALUE  # fmt: skip
    with pytest.raises(ValueError, match="Decryption failed"):
        controller_unseal(key, ns_wide, controller_label("data-science", "x", {}))
    _, cluster, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem, "monitoring", "x", "k", "--scope", "cluster-wide"))
    assert controller_unseal(key, cluster, b"") == VALUE
    with pytest.raises(ValueError, match="Decryption failed"):
        controller_unseal(key, cluster, b"monitoring/x")


def test_each_seal_uses_a_fresh_session_key_and_tampering_is_detected(monkeypatch, capsys, key, cert_pem):
    _, first, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem))
    _, second, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem))
    assert first != second
    blob = bytearray(base64.b64decode(first))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        controller_unseal(key, base64.b64encode(bytes(blob)).decode(), b"data-science/hf-token")


def test_public_key_pem_and_env_variable(monkeypatch, capsys, key, tmp_path):
    pub = tmp_path / "pub.pem"
    pub.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    monkeypatch.setenv("MY_TOKEN", "from-the-environment")
    code, out, _ = seal_cli(monkeypatch, capsys, args_for(pub, "cert-manager", "cloudflare-api-token", "api-token",
                                                          "--from-env", "MY_TOKEN"), stdin=b"ignored")  # fmt: skip
    assert code == 0
    assert controller_unseal(key, out, b"cert-manager/cloudflare-api-token") == b"from-the-environment"


def test_one_trailing_newline_is_stripped_unless_kept(monkeypatch, capsys, key, cert_pem):
    _, out, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem), stdin=VALUE + b"\n")
    assert controller_unseal(key, out, b"data-science/hf-token") == VALUE
    _, out, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-token", "token", "--keep-newline"),
                         stdin=VALUE + b"\n")  # fmt: skip
    assert controller_unseal(key, out, b"data-science/hf-token") == VALUE + b"\n"
    # A Windows line ending goes as one; a bare carriage return or a second newline is value.
    for stdin, sealed in ((b"\r\n", b""), (b"\r", b"\r"), (b"\n\n", b"\n")):
        _, out, _ = seal_cli(monkeypatch, capsys, args_for(cert_pem), stdin=VALUE + stdin)
        assert controller_unseal(key, out, b"data-science/hf-token") == VALUE + sealed


def test_the_command_shares_the_config_facts():
    """mcpds/seal.py keeps its own copies (the CLI does not import the Pulumi program for
    every command); they must stay those of components/ that read what it writes."""
    from components import config, secrets
    from mcpds import seal as command

    assert command.PROJECT == config.PROJECT
    assert command.SCOPES == config.SEALING_SCOPES
    assert command._SECRET_KEY.pattern == config._SECRET_KEY.pattern
    # Every scope but strict is an annotation on the SealedSecret.
    assert set(secrets.SCOPE_ANNOTATIONS) == set(config.SEALING_SCOPES) - {"strict"}


def test_the_value_is_never_an_argument():
    from mcpds.cli import build_parser

    seal = build_parser()._subparsers._group_actions[0].choices["seal"]
    options = {o for action in seal._actions for o in action.option_strings}
    # Every option, so a new one (a `--value`, `--from-literal`, ...) has to be looked at here.
    assert options == {"-h", "--help", "--cert", "--namespace", "--name", "--key", "--id", "--scope", "--from-env",
                       "--keep-newline", "--stack", "--write", "--project-dir"}  # fmt: skip


# ---------------------------------------------------------------------------
# User errors: exit 2, one line, nothing written
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        (lambda k, p: p.write_text("not a certificate\n"), "is not PEM"),
        (
            lambda k, p: p.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            "not a valid PEM",
        ),
        (
            lambda k, p: p.write_bytes(
                ec.generate_private_key(ec.SECP256R1())
                .public_key()
                .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            ),
            "holds a key that is not RSA",
        ),
    ],
)
def test_bad_certificate_is_a_one_line_error(monkeypatch, capsys, key, tmp_path, case):
    make_cert, expected = case
    cert = tmp_path / "bad.pem"
    make_cert(key, cert)
    code, out, err = seal_cli(monkeypatch, capsys, args_for(cert))
    assert code == 2
    assert out == ""
    assert err.startswith("mcpds: error: --cert")
    assert expected in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "case",
    [
        ({"namespace": "Data_Science"}, [], VALUE, "--namespace 'Data_Science' is not a namespace name"),
        ({"name": "HF token"}, [], VALUE, "--name 'HF token' is not a Secret name"),
        ({"key": "to/ken"}, [], VALUE, "--key 'to/ken' is not a Secret key"),
        ({}, [], b"", "the value from stdin is empty"),
        ({}, [], b"\n", "the value from stdin is empty"),
        ({}, ["--from-env", "MCPDS_TEST_UNSET_VAR"], VALUE, "environment variable MCPDS_TEST_UNSET_VAR is not set"),
        ({}, ["--write"], VALUE, "--write needs --stack"),
        ({}, ["--stack", "prod"], VALUE, "--stack is only used with --write"),
    ],
)
def test_bad_arguments_are_one_line_errors(monkeypatch, capsys, cert_pem, case):
    target, extra, stdin, expected = case
    monkeypatch.delenv("MCPDS_TEST_UNSET_VAR", raising=False)
    code, out, err = seal_cli(monkeypatch, capsys, [*args_for(cert_pem, **target), *extra], stdin=stdin)
    assert (code, out) == (2, "")
    assert err.startswith("mcpds: error: ")
    assert expected in err
    assert len(err.splitlines()) == 1


# ---------------------------------------------------------------------------
# --write: `pulumi config set --path` semantics on Pulumi.<stack>.yaml
# ---------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory with the project file and copies of the fixture stack files."""
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(FIXTURE_STACKS / name, tmp_path / name)
    return tmp_path


def test_write_sets_the_config_path_and_keeps_everything_else(monkeypatch, capsys, key, cert_pem, project):
    path = project / "Pulumi.prod.yaml"
    before = path.read_text()
    extra = ["--stack", "prod", "--write", "--project-dir", str(project)]
    code, out, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-token", "token", *extra))
    assert code == 0
    assert out == ""
    assert "mcp-datascience:secrets.sealed.ciphertexts.hf-token.token" in err
    after = path.read_text()
    # Every original line (comments included) is still there, in order, before the new key.
    assert after.startswith(before)
    written = yaml.safe_load(after)["config"]["mcp-datascience:secrets"]["sealed"]["ciphertexts"]["hf-token"]["token"]
    assert controller_unseal(key, written, b"data-science/hf-token") == VALUE
    assert "scopes" not in yaml.safe_load(after)["config"]["mcp-datascience:secrets"]["sealed"]

    # A second key lands beside the first; a non-strict scope is recorded, strict removes it.
    seal_cli(monkeypatch, capsys, args_for(cert_pem, "cert-manager", "godaddy-api-key", "token", "--scope",
                                           "namespace-wide", *extra))  # fmt: skip
    sealed = yaml.safe_load(path.read_text())["config"]["mcp-datascience:secrets"]["sealed"]
    assert set(sealed["ciphertexts"]) == {"hf-token", "godaddy-api-key"}
    assert sealed["scopes"] == {"godaddy-api-key": "namespace-wide"}
    seal_cli(monkeypatch, capsys, args_for(cert_pem, "cert-manager", "godaddy-api-key", "token", *extra))
    sealed = yaml.safe_load(path.read_text())["config"]["mcp-datascience:secrets"]["sealed"]
    assert "scopes" not in sealed
    assert path.read_text().startswith(before)

    # The program takes the written file: both credentials become SealedSecrets.
    run = run_program("prod", read_stack_file("prod", project))
    sealed_objects = {o["metadata"]["name"]: o for o in run.objects() if o["kind"] == "SealedSecret"}
    assert sealed_objects["hf-token"]["spec"]["encryptedData"]["token"] == written
    assert set(sealed_objects) == {"hf-token", "godaddy-api-key"}
    assert not [m for level, m in run.logs if "missing credential" in m]


@pytest.mark.parametrize(
    "case",
    [
        ("config: [unclosed\n", "is not valid YAML"),
        ("config:\n  mcp-datascience:secrets:\n    secure: v1:abc\n", "is not a plain mapping"),
        ("- a list\n", "must be a YAML mapping"),
    ],
)
def test_write_errors_leave_the_file_untouched(monkeypatch, capsys, cert_pem, tmp_path, case):
    content, expected = case
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(content)
    extra = ["--stack", "prod", "--write", "--project-dir", str(tmp_path)]
    code, _, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-token", "token", *extra))
    assert code == 2
    assert expected in err
    assert len(err.splitlines()) == 1
    assert path.read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.prod.yaml"]


def test_a_failure_while_writing_keeps_the_original(monkeypatch, capsys, cert_pem, project):
    """A full disk is the user's to fix: one line, exit 2, the stack file untouched."""
    import errno

    import ruamel.yaml

    path = project / "Pulumi.dev.yaml"
    before = path.read_bytes()

    def broken_dump(self, data, stream):
        stream.write("config:\n  half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ruamel.yaml.YAML, "dump", broken_dump)
    extra = ["--stack", "dev", "--write", "--project-dir", str(project)]
    code, out, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-token", "token", *extra))
    assert (code, out) == (2, "")
    assert err.startswith("mcpds: error: cannot write")
    assert "No space left on device" in err
    assert "Pulumi.dev.yaml is unchanged" in err
    assert len(err.splitlines()) == 1
    assert path.read_bytes() == before
    assert not list(project.glob(".Pulumi.dev.yaml.*"))


def test_all_keys_of_a_credential_share_one_scope(monkeypatch, capsys, key, cert_pem, project):
    """The scope annotation sits on the one SealedSecret: a second key sealed with another
    scope would make the controller fail to open the first (or the second)."""
    path = project / "Pulumi.prod.yaml"
    extra = ["--stack", "prod", "--write", "--project-dir", str(project)]
    ns, name = "monitoring", "grafana-admin"
    assert seal_cli(monkeypatch, capsys, args_for(cert_pem, ns, name, "admin-user", *extra))[0] == 0
    before = path.read_text()
    for scope in ("namespace-wide", "cluster-wide"):
        code, out, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, ns, name, "admin-password", "--scope",
                                                                scope, *extra))  # fmt: skip
        assert (code, out) == (2, "")
        assert "key(s) admin-user are sealed with scope strict" in err
        assert "seal with --scope strict, or, to change its scope, `pulumi config rm --path " in err
        assert f"'secrets.sealed.ciphertexts.grafana-admin'` and seal every key with --scope {scope}" in err
        assert len(err.splitlines()) == 1
        assert path.read_text() == before
    # The way out the message gives: drop the credential's ciphertexts, seal each key anew.
    document = yaml.safe_load(path.read_text())
    del document["config"]["mcp-datascience:secrets"]["sealed"]["ciphertexts"]["grafana-admin"]
    path.write_text(yaml.safe_dump(document))
    for k in ("admin-user", "admin-password"):
        code, _, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, ns, name, k, "--scope", "namespace-wide",
                                                              *extra))  # fmt: skip
        assert (code, err.splitlines()[-1:]) == (0, [f"wrote mcp-datascience:secrets.sealed.ciphertexts.{name}.{k} "
                                                     f"(namespace-wide scope for {ns}/{name}) in {path}"])  # fmt: skip
    sealed = yaml.safe_load(path.read_text())["config"]["mcp-datascience:secrets"]["sealed"]
    assert sealed["scopes"] == {"grafana-admin": "namespace-wide"}
    for k in ("admin-user", "admin-password"):
        assert controller_unseal(key, sealed["ciphertexts"]["grafana-admin"][k], ns.encode()) == VALUE


@pytest.mark.parametrize(
    "case",
    [
        (["--namespace", "data-science", "--name", "godaddy-api-key", "--key", "token"],
         "credential godaddy-api-key is the Secret cert-manager/godaddy-api-key in stack prod, but the value would be "
         "sealed for data-science/godaddy-api-key: pass --namespace cert-manager --name godaddy-api-key"),
        (["--namespace", "data-science", "--name", "hf", "--id", "hf-token", "--key", "token"],
         "credential hf-token is the Secret data-science/hf-token in stack prod"),
        (["--namespace", "data-science", "--name", "hf-token", "--key", "api-token"],
         "credential hf-token (data-science/hf-token) has key(s) token, not 'api-token'"),
        (["--namespace", "monitoring", "--name", "grafana-admin", "--key", "admin-user", "--scope", "namespace-wide",
          "--id", "hf-token"],
         "credential hf-token is the Secret data-science/hf-token in stack prod, but the value would be sealed for "
         "monitoring/grafana-admin"),
    ],
)  # fmt: skip
def test_write_refuses_a_value_sealed_for_another_secret(monkeypatch, capsys, cert_pem, project, case):
    """Sealed for the wrong namespace/name, a value never opens in the cluster, and that
    shows only as a Secret that never appears: `--write` checks against the stack."""
    argv, expected = case
    path = project / "Pulumi.prod.yaml"
    before = path.read_text()
    args = ["--cert", str(cert_pem), *argv, "--stack", "prod", "--write", "--project-dir", str(project)]
    code, out, err = seal_cli(monkeypatch, capsys, args, stdin=b"")  # refused before the value is read
    assert (code, out) == (2, "")
    assert expected in err
    assert len(err.splitlines()) == 1
    assert path.read_text() == before


def test_write_checks_a_stack_that_also_holds_pulumi_secret_values(monkeypatch, capsys, cert_pem, project):
    """`secure:` values in the stack file do not stop the check (their plaintext is never read)."""
    path = project / "Pulumi.prod.yaml"
    path.write_text(path.read_text() + "  mcp-datascience:secrets:\n    pulumi:\n      values:\n        hf-token:\n"
                    "          token:\n            secure: v1:AAAA\n")  # fmt: skip
    extra = ["--stack", "prod", "--write", "--project-dir", str(project)]
    code, _, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "cert-manager", "godaddy-api-key", "token", *extra))
    assert (code, err.count("note:")) == (0, 0)
    code, _, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "godaddy-api-key", "token", *extra))
    assert code == 2
    assert "pass --namespace cert-manager" in err


def test_write_notes_a_credential_no_component_uses(monkeypatch, capsys, cert_pem, project):
    extra = ["--stack", "prod", "--write", "--project-dir", str(project)]
    code, _, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-tokn", "token", *extra))
    assert code == 0
    assert "note: no component of stack prod uses credential 'hf-tokn'" in err
    assert "hf-token" in err  # the ids it does use


def test_write_through_a_symlink_keeps_the_link(monkeypatch, capsys, key, cert_pem, project):
    (project / "shared").mkdir()
    elsewhere = project / "shared" / "Pulumi.prod.yaml"
    (project / "Pulumi.prod.yaml").rename(elsewhere)
    (project / "Pulumi.prod.yaml").symlink_to(elsewhere)
    extra = ["--stack", "prod", "--write", "--project-dir", str(project)]
    assert seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-token", "token", *extra))[0] == 0
    assert (project / "Pulumi.prod.yaml").is_symlink()
    written = yaml.safe_load(elsewhere.read_text())["config"]["mcp-datascience:secrets"]["sealed"]["ciphertexts"]
    assert controller_unseal(key, written["hf-token"]["token"], b"data-science/hf-token") == VALUE


def test_write_to_a_missing_stack_file_says_how_to_fix(monkeypatch, capsys, cert_pem, tmp_path):
    extra = ["--stack", "staging", "--write", "--project-dir", str(tmp_path)]
    code, _, err = seal_cli(monkeypatch, capsys, args_for(cert_pem, "data-science", "hf-token", "token", *extra))
    assert code == 2
    assert "no stack file" in err
    assert "pulumi stack init staging" in err
