"""The one Azure edge: credentials, SDK clients, Azure errors as one line, the retries worth
making, and one class per service surface the project calls.

    errors        EdgeError, describe(): one line per failure, never a response body or a key
    retry         Waiter (poll until), Patience and run() (403 retries, the firewall-403 rule)
    credentials   the sign-in a process chooses from its environment
    clients       Connection: every SDK client, built once, with test/emulator overrides
    vault         VaultSecrets: the one secret's versions and the one Key Vault write
    account_keys  AccountKeys: list, read and regenerate the AI account's two keys
    probe         Probe: does the AI endpoint accept a key (status only)
    sites         ConsumerSites: refresh and observe the secret's consumers

Imports only Azure SDKs, ``requests`` and the standard library, and itself relatively, so that
a package shipped alone can carry this folder as a byte-equal copy. Callers pass the facts of
their contract in (content type, tags, ARM key names); key values pass through and are never
logged or kept.
"""
