"""A key in a container's environment and on its command line."""

from pulumi_azure_native import containerinstance

from tests.policies.programs.baseline import synthetic_key

containerinstance.ContainerGroup(
    "worker",
    resource_group_name="rg-policy-test",
    os_type="Linux",
    containers=[
        {
            "name": "worker",
            "image": "mcr.microsoft.com/azuredocs/aci-helloworld:latest",
            "resources": {"requests": {"cpu": 1, "memory_in_gb": 1.5}},
            "environment_variables": [{"name": "WORKER_MODE", "secure_value": synthetic_key()}],
            "command": ["python", "-m", "worker", "--key", synthetic_key()],
        }
    ],
)
