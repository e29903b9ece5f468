"""A storage connection string carrying the account key, in siteConfig.connectionStrings."""

from tests.policies.programs.baseline import secure_site, synthetic_key

secure_site(
    connection_strings=[
        {
            "name": "Storage",
            "type": "Custom",
            "connection_string": (
                "DefaultEndpointsProtocol=https;AccountName=stpolicytest;"
                f"AccountKey={synthetic_key()};EndpointSuffix=core.windows.net"
            ),
        }
    ]
)
