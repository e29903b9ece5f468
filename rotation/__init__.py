"""Zero-downtime rotation of the AI account's two keys through one Key Vault secret.

`python -m rotation status|rotate|revoke|drill`; the state machine is in rotation.state, the
engine in rotation.engine, the Azure SDK edges in rotation.azure.
"""
