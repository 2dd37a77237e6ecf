"""Kubernetes resource quantities (CPU and memory) parsed into numbers.

Only what the stack needs: compare requests with limits and scale sizes. The grammar
is the API server's (k8s.io/apimachinery/pkg/api/resource/quantity.go): a decimal
number followed by a binary (Ki..Ei), decimal (n, u, m, k, M..E) or exponent suffix.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}

_QUANTITY = re.compile(r"^(?P<num>[0-9]+(\.[0-9]*)?|\.[0-9]+)(?P<suffix>[eE][+-]?[0-9]+|[a-zA-Z]{0,2})$")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> Decimal:
    """Return the quantity's value in base units (cores or bytes)."""
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.match(value.strip())
    if not match:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 4Gi)")
    suffix = match["suffix"]
    try:
        number = Decimal(match["num"])
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise QuantityError(f"{value!r} is not a Kubernetes quantity") from exc
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    if suffix not in _SUFFIXES:
        raise QuantityError(f"{value!r} has an unknown suffix {suffix!r} (use m, Ki, Mi, Gi, k, M, G, ...)")
    return number * _SUFFIXES[suffix]


def format_cpu(cores: Decimal) -> str:
    """Cores as the API server would print them: whole cores or millicores."""
    millis = int((cores * 1000).to_integral_value())
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(size: Decimal) -> str:
    """Bytes in the largest binary unit that keeps the number whole (Mi at least)."""
    mib = int((size / _SUFFIXES["Mi"]).to_integral_value())
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"
