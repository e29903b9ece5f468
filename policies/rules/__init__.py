"""One policy per module, named for what it demands; each module exposes ``POLICY``."""
