"""A key marked secret in the program, still landing in an app setting as a value."""

import pulumi

from tests.policies.programs.baseline import secure_site, synthetic_key

secure_site(app_settings=[{"name": "AI_KEY", "value": pulumi.Output.secret(synthetic_key())}])
