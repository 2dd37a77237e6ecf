"""Which run of the program this is: an offline render under mocks, a preview, or the
update step of `pulumi up`. Checks that refuse a deployment (a missing credential, an
image without a digest) raise only in the update step and warn otherwise."""

from __future__ import annotations

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings


def offline() -> bool:
    """True under Pulumi's mocks (tests, `make render`): nothing is deployed there."""
    return isinstance(pulumi_settings.get_monitor(), pulumi_mocks.MockMonitor)


def deploying() -> bool:
    """True in the update step of `pulumi up` (not in `pulumi preview`, nor in the
    preview `pulumi up` shows first: both run the program with `is_dry_run()` true),
    and never under the offline mocks."""
    return not pulumi.runtime.is_dry_run() and not offline()
