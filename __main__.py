"""secure-azure-ai: an Azure AI account whose key lives only in Key Vault, read by apps."""

import pulumi
from pulumi_azure_native import authorization

from components.config import ConfigError, load
from components.stack import SecureAiStack


def raw_config() -> dict[str, object]:
    """Every config value of the stack, as the engine hands them to the program."""
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


# Who deploys where: the subscription seeds the global names, the identity gets its grant.
client = authorization.get_client_config()
try:
    config = load(raw_config(), pulumi.get_stack(), client.subscription_id)
except ConfigError as problems:
    # RunError: the engine prints the message without a stack trace.
    raise pulumi.RunError(f"invalid stack configuration:\n{problems}") from None

stack = SecureAiStack("secure-ai", config, client)
for key, value in stack.outputs.items():
    pulumi.export(key, value)
