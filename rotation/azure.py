"""Former home of the rotation's SDK edges, now the one Azure edge (azure_edge/); these names
remain only until every importer uses azure_edge and rotation.engine directly."""

from azure_edge.errors import describe as describe_error
from azure_edge.retry import Waiter
from azure_edge.sites import ConsumerSites as Consumers
from azure_edge.sites import Observation
from azure_edge.vault import SecretRecord
from azure_edge.vault import VaultSecrets as Vault
from rotation.engine import RotationStopped

__all__ = [
    "Consumers",
    "Observation",
    "RotationStopped",
    "SecretRecord",
    "Vault",
    "Waiter",
    "describe_error",
]
