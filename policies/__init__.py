"""The policy pack (CrossGuard) and the secret detection engine it uses.

Importing this package has no side effects: the pack itself is only built in ``__main__.py``.
"""
