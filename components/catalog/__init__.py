"""Azure facts every room shares: built-in role IDs and resource type tokens. Pure data, no I/O."""
