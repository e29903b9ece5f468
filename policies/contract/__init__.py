"""The pack's copies of the contract files it needs (the secret's content type, Azure's name
rules), kept byte-equal to ``catalog/`` at the repository's root: the pack ships alone and imports
nothing outside its folder."""
