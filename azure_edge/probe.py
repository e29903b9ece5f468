"""Does the AI endpoint accept a key: a one-token chat completion, status only."""

from __future__ import annotations

import logging

import requests

from .errors import EdgeError

log = logging.getLogger(__name__)

DEFAULT_CHAT_API_VERSION = "2024-10-21"


class Probe:
    """Asks one chat deployment whether a key is accepted. The answer's body is never read."""

    def __init__(
        self,
        session: requests.Session,
        endpoint: str,
        deployment: str,
        api_version: str = DEFAULT_CHAT_API_VERSION,
    ) -> None:
        self._session = session
        self.url = f"{endpoint.rstrip('/')}/openai/deployments/{deployment}/chat/completions"
        self._api_version = api_version
        self.attempts = 0

    def accepted(self, key: str) -> bool:
        """One request: True when the endpoint answers 200 with this key, False when it does not
        (yet): 401, throttling, unreachable. EdgeError when the deployment does not exist."""
        self.attempts += 1
        try:
            response = self._session.post(
                self.url,
                params={"api-version": self._api_version},
                headers={"api-key": key},
                json={"messages": [{"role": "user", "content": "ping"}], "max_tokens": 1},
                timeout=30,
            )
        except requests.RequestException as exc:
            log.info("probe: endpoint not reached (%s)", type(exc).__name__)
            return False
        if response.status_code == 404:
            raise EdgeError(
                f"the AI endpoint answered 404 for {self.url}; the rule is an existing chat "
                "deployment"
            )
        return response.status_code == 200
