"""A key read with the list-keys invoke, exported as a stack output and copied into a secret."""

import pulumi
from pulumi_azure_native import cognitiveservices, keyvault

from tests.policies.programs.baseline import RESOURCE_GROUP

keys = cognitiveservices.list_account_keys_output(
    account_name="ai-policy-test", resource_group_name=RESOURCE_GROUP
)
keyvault.Secret(
    "ai-key",
    vault_name="kv-policy-test",
    secret_name="ai-key",
    resource_group_name=RESOURCE_GROUP,
    properties={"value": keys.key1, "content_type": "text/plain", "attributes": {"expires": 1}},
)
pulumi.export("aiKey", keys.key1)
