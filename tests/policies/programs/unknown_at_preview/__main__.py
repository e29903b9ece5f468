"""A key pasted into settings whose resource group is not known until apply (a StackReference)."""

import pulumi
from pulumi_azure_native import web

from tests.policies.programs.baseline import secure_site, synthetic_key

site = secure_site()
shared = pulumi.StackReference("organization/shared/dev")
web.WebAppApplicationSettings(
    "settings",
    name=site.name,
    resource_group_name=shared.get_output("resourceGroupName"),
    properties={"AZURE_OPENAI_API_KEY": synthetic_key(), "MODEL": "gpt-4o-mini"},
)
