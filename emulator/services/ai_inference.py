"""The AI accounts' inference data plane (``{subdomain}.openai.azure.com`` and
``{subdomain}.cognitiveservices.azure.com``): who may call (an accepted ``api-key``, or an Entra
token whose principal holds the chat action); the answers' shapes are emulator/inference.py's."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from emulator import inference
from emulator.errors import azure_error, body_json
from emulator.identity import TokenInfo, authenticate, bearer
from emulator.routing import Route, Service
from emulator.services.arm_accounts import Account

COGNITIVE_AUDIENCES = ("https://cognitiveservices.azure.com", "https://ai.azure.com")
ACTION_CHAT = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
_INVALID_KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


def _not_found() -> Response:
    return azure_error(404, "404", "Resource not found")


class AiInference(Service):
    name = "ai_inference"

    def _refused(self, request: Request, account: Account) -> Response | None:
        """Azure's 401/403 when the caller may not use the account, else None."""
        api_key = request.headers.get("api-key")
        token = bearer(request)
        if api_key is not None:
            if account.disable_local_auth:
                return azure_error(
                    403,
                    "AuthenticationTypeDisabled",
                    "Key based authentication is disabled for this resource.",
                )
            if not self.state.key_accepted(account, api_key):
                return azure_error(401, "401", _INVALID_KEY_MESSAGE)
            return None
        if token is None:
            return azure_error(
                401,
                "401",
                "Access denied due to missing subscription key. Make sure to include "
                "subscription key when making requests to an API.",
            )
        info = authenticate(self.state, token, COGNITIVE_AUDIENCES)
        if not isinstance(info, TokenInfo):
            return azure_error(401, "401", "Access denied due to invalid or expired token.")
        if not self.state.is_authorized(info.principal_id, ACTION_CHAT, account.id, data=True):
            return azure_error(
                401, "PermissionDenied", "Principal does not have access to API/Operation."
            )
        return None

    def completions(
        self, request: Request, subdomain: str, deployment: str, operation: str
    ) -> Response:
        account = self.state.account_by_subdomain(subdomain)
        if account is None or request.method != "POST":
            return _not_found()
        refused = inference.version_error(request.args.get("api-version")) or self._refused(
            request, account
        )
        if refused is not None:
            return refused
        if deployment not in account.deployments:
            return azure_error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.",
            )
        try:
            body = body_json(request)
        except ValueError:
            return azure_error(400, "BadRequest", "The request body is not valid JSON.")
        return inference.answer(
            body,
            operation=operation,
            deployment=deployment,
            model=account.deployments[deployment],
            created=int(self.state.clock()),
        )

    def not_found(self, request: Request, subdomain: str) -> Response:
        return _not_found()


ROUTES = [
    Route(
        f"/openai/deployments/<deployment>/{operation}",
        host=f"<label:subdomain>.{domain}",
        endpoint="ai_inference.completions",
        counted_as=f"/openai/deployments/{{deployment}}/{operation}",
        defaults={"operation": operation},
    )
    for domain in ("openai.azure.com", "cognitiveservices.azure.com")
    for operation in ("chat/completions", "completions")
] + [
    Route(path, host=f"<label:subdomain>.{domain}", endpoint="ai_inference.not_found")
    for domain in ("openai.azure.com", "cognitiveservices.azure.com")
    for path in ("/", "/<path:_path>")
]
