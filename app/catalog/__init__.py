"""The app's copies of the contract files it needs (the secret's slot tag, "the latest version"
and Key Vault reference text, the secret and deployment name rules), kept byte-equal to
``catalog/`` at the repository's root: the app ships alone and imports nothing outside it."""
