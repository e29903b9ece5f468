"""A key left in a resource group's tags."""

from pulumi_azure_native import resources

from tests.policies.programs.baseline import synthetic_key

resources.ResourceGroup("rg", resource_group_name="rg-policy-test", tags={"note": synthetic_key()})
