"""The policy pack's rules, importable without starting the pack."""

from .helm import HELM_RELEASE_PINNED

ALL_POLICIES = [HELM_RELEASE_PINNED]

__all__ = ["ALL_POLICIES"]
