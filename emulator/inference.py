"""The Azure OpenAI inference data plane: chat completions and the legacy completions, answered
as JSON or streamed as server-sent events, with the api-versions Azure serves.

Azure's shapes: `POST /openai/deployments/{deployment}/chat/completions` (messages) and
`.../completions` (prompt) with `?api-version=`; a missing api-version answers 404 "Resource not
found", one Azure does not serve answers 400 {"error": {"code": "BadRequest", "message": "API
version not supported"}}; `"stream": true` answers `text/event-stream` with one `data: {chunk}`
event per piece and `data: [DONE]` last (Azure OpenAI reference, "Chat completions" and
"Completions"; versions from azure-rest-api-specs specification/cognitiveservices/data-plane/
AzureOpenAI/inference/{stable,preview}).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Response

from emulator.errors import azure_error, json_response

API_VERSIONS = frozenset(
    {
        "2022-12-01",
        "2023-05-15",
        "2024-02-01",
        "2024-06-01",
        "2024-10-21",
        "2023-03-15-preview",
        "2023-06-01-preview",
        "2023-07-01-preview",
        "2023-08-01-preview",
        "2023-09-01-preview",
        "2023-12-01-preview",
        "2024-02-15-preview",
        "2024-03-01-preview",
        "2024-04-01-preview",
        "2024-05-01-preview",
        "2024-07-01-preview",
        "2024-08-01-preview",
        "2024-09-01-preview",
        "2024-10-01-preview",
        "2024-12-01-preview",
        "2025-01-01-preview",
        "2025-02-01-preview",
        "2025-03-01-preview",
        "2025-04-01-preview",
    }
)


def version_error(api_version: str | None) -> Response | None:
    """Azure's answer to a missing or unserved api-version, or None when it is served."""
    if not api_version:
        return azure_error(404, "404", "Resource not found")
    if api_version not in API_VERSIONS:
        return azure_error(400, "BadRequest", "API version not supported")
    return None


def answer(body: Any, *, operation: str, deployment: str, model: str, created: int) -> Response:
    """The completion for a checked request body (chat: messages; completions: prompt)."""
    if not isinstance(body, dict):
        return azure_error(400, "BadRequest", "The request body must be a JSON object.")
    chat = operation == "chat/completions"
    if chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return azure_error(400, "BadRequest", "'messages' is a required non-empty array.")
        texts = [str(m.get("content", "")) for m in messages if isinstance(m, dict)]
    else:
        prompt = body.get("prompt")
        if not isinstance(prompt, str | list) or not prompt:
            return azure_error(400, "BadRequest", "'prompt' is a required string or array.")
        texts = [prompt] if isinstance(prompt, str) else [str(p) for p in prompt]
    reply = f"Emulated reply from {deployment}."
    ident = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}"
    if body.get("stream") is True:
        return _stream(ident, created, model, reply, chat=chat)
    prompt_tokens = sum(len(text.split()) for text in texts)
    completion_tokens = len(reply.split())
    if chat:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": reply},
            "finish_reason": "stop",
        }
    else:
        choice = {"index": 0, "text": reply, "logprobs": None, "finish_reason": "stop"}
    return json_response(
        200,
        {
            "id": ident,
            "object": "chat.completion" if chat else "text_completion",
            "created": created,
            "model": model,
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
    )


def _stream(ident: str, created: int, model: str, reply: str, *, chat: bool) -> Response:
    """Chunks: (chat) the role first, the content word by word, the finish reason; `[DONE]`."""
    kind = "chat.completion.chunk" if chat else "text_completion"

    def chunk(choice: dict[str, Any]) -> bytes:
        event = {"id": ident, "object": kind, "created": created, "model": model}
        return f"data: {json.dumps({**event, 'choices': [choice]})}\n\n".encode()

    def piece(content: str | None, finish: str | None) -> dict[str, Any]:
        if chat:
            delta = {} if content is None else {"content": content}
            return {"index": 0, "delta": delta, "finish_reason": finish}
        return {"index": 0, "text": content or "", "logprobs": None, "finish_reason": finish}

    def events() -> Iterable[bytes]:
        if chat:
            yield chunk(
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            )
        for i, word in enumerate(reply.split(" ")):
            yield chunk(piece(word if i == 0 else f" {word}", None))
        yield chunk(piece(None, "stop"))
        yield b"data: [DONE]\n\n"

    return Response(events(), status=200, content_type="text/event-stream; charset=utf-8")
