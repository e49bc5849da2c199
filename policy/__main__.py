"""The telework policy pack. Run by the Pulumi CLI: `pulumi preview --policy-pack policy`.

The rules live in `telework_policies.py` (next to this file) so that tests can import them
without starting the policy server that `PolicyPack` starts.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack
from telework_policies import POLICIES

PolicyPack(
    name="telework",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
