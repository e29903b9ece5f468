"""A key pasted into a separate WebAppApplicationSettings resource."""

from pulumi_azure_native import web

from tests.policies.programs.baseline import RESOURCE_GROUP, secure_site, synthetic_key

site = secure_site()
web.WebAppApplicationSettings(
    "settings",
    name=site.name,
    resource_group_name=RESOURCE_GROUP,
    properties={"AZURE_OPENAI_API_KEY": synthetic_key(), "MODEL": "gpt-4o-mini"},
)
