"""The pack's entry point for the Pulumi CLI: `pulumi preview --policy-pack policies`.

The CLI runs this file with ``policies/`` as the program directory, so the repository root (which
holds the ``policies`` and ``catalog`` packages this pack imports) is put on ``sys.path`` first.
Constructing ``PolicyPack`` starts the analyzer's gRPC server and never returns: nothing else
imports this module (tests and the offline preview use ``policies.pack`` instead).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from pulumi_policy import PolicyPack  # noqa: E402

from policies.pack import DEFAULT_ENFORCEMENT, PACK_DESCRIPTION, PACK_NAME, POLICIES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=DEFAULT_ENFORCEMENT,
    description=PACK_DESCRIPTION,
    provider="azure",
)
