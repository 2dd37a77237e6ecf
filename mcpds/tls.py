"""What certificate an endpoint serves, when verification failed: Let's Encrypt staging?

The dev stack's edge uses Let's Encrypt's staging CA (`edge.issuer: auto`), whose roots
no client trusts. A TLS failure there is expected, not a broken edge: `verify` names
the CA and says how to trust it. Let's Encrypt names every staging CA with a
"(STAGING)" prefix, e.g. intermediates "(STAGING) Ersatz Edamame E1" and roots
"(STAGING) Pretend Pear X1" / "(STAGING) Bogus Broccoli X2"
(letsencrypt.org/docs/staging-environment, "Staging Certificate Hierarchy").
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID

STAGING_MARK = "(STAGING)"
STAGING_ROOTS = (
    "https://letsencrypt.org/certs/staging/letsencrypt-stg-root-x1.pem",
    "https://letsencrypt.org/certs/staging/letsencrypt-stg-root-x2.pem",
)


def served_issuer(url: str, timeout: float) -> str | None:
    """The issuer name of the certificate `url`'s host serves, read without verifying it;
    None when there is no TLS endpoint to ask."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read what is served; nothing is sent
    try:
        with (
            socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    if not der:
        return None
    issuer = x509.load_der_x509_certificate(der).issuer
    names = issuer.get_attributes_for_oid(NameOID.COMMON_NAME) or issuer.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME
    )
    return str(names[0].value) if names else issuer.rfc4514_string()


def staging_advice(url: str, timeout: float) -> str | None:
    """One line for a TLS failure at a Let's Encrypt staging certificate, else None."""
    issuer = served_issuer(url, timeout)
    if issuer is None or STAGING_MARK not in issuer:
        return None
    return (
        f"the certificate of {urlsplit(url).netloc} is from Let's Encrypt's staging CA ({issuer}), which no client "
        f"trusts (dev's edge.issuer auto = staging): trust it with --ca-bundle, e.g. curl -s {' '.join(STAGING_ROOTS)} "
        "> le-staging.pem, then --ca-bundle le-staging.pem; or set edge.issuer: production"
    )
