"""Engine-contract tests: each plugin in its own process, over the protocol the engine speaks."""
