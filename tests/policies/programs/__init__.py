"""Small Pulumi programs, each run under mocks by the policy tests (one leak per program)."""
