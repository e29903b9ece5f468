"""The emulated services, one module each: its state, its request handlers and its routes."""
