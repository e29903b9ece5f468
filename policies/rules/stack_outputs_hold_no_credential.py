"""stack-outputs-hold-no-credential: no stack output carries a key or any other credential.

A stack output is stored in the stack's state and printed by ``pulumi stack output`` to anyone who
can read the stack; marked secret it is encrypted there, but still in state, against the promise
that the key lives only in Key Vault. CrossGuard has no stack-output hook: ``AnalyzeStack``
receives the root ``pulumi:pulumi:Stack`` resource, whose properties are the outputs (the engine
registers them before analysing: pulumi/pulumi pkg/resource/deploy/deployment_executor.go,
step_generator.go ``AnalyzeResources``), secrets unwrapped by pulumi-policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies import detection
from policies.credential_carriers import strings_in
from policies.support import ROOT_STACK, Outcome, StackResource, format_path, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Every string in every stack output is free of credentials."""
    out = Outcome()
    for stack in (r for r in resources if r.type == ROOT_STACK):
        for key, value in stack.props.items():
            for path, setting, text in strings_in(value, (key,), key, out):
                findings = detection.find_secrets(text, setting_name=setting)
                if findings:
                    described = "; ".join(f"{f.kind} {f.masked}" for f in findings)
                    out.fail(
                        f"stack output {format_path(path)} holds a credential: {described}",
                        stack.urn,
                    )
    return out


POLICY = stack_policy(
    "stack-outputs-hold-no-credential",
    "No stack output holds a key or other credential, marked secret or not.",
    rule=check,
    remediation=(
        "Export where the credential lives (the secret's ID or URI) instead of its value; a "
        "consumer reads it from Key Vault with its own identity."
    ),
)
