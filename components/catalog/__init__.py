"""The contract every room shares: the secret's tags, slots and content type, the rotation period,
Azure's name rules, resource IDs and Key Vault addresses, the hosted rotation's names and the shapes
of keys. No I/O; the only imports outside the standard library are the SDKs' ID parsers (ids.py)."""
