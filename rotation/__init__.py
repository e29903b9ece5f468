"""Zero-downtime rotation of the AI account's two keys through one Key Vault secret.

`python -m rotation status|rotate|revoke`; the state machine is in rotation.state, the engine in
rotation.engine, what flags, stack outputs and app settings name in rotation.resolve; Azure is
reached through the one edge, azure_edge.
"""
