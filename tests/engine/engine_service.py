"""The engine's own gRPC service, whose address the CLI passes to every plugin it starts
(pkg/resource/plugin/plugin.go: the engine address is the plugin's argument); records Log calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2_grpc


class FakeEngine(engine_pb2_grpc.EngineServicer):
    """Records every Log request a plugin sends."""

    def __init__(self) -> None:
        self.logs: list[Any] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request)
        return empty_pb2.Empty()


@contextmanager
def serving(
    add_to_server: Callable[[Any, grpc.Server], None], servicer: Any, workers: int = 2
) -> Iterator[str]:
    """``servicer`` listening on 127.0.0.1 for as long as the block runs; yields its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    add_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


@contextmanager
def fake_engine() -> Iterator[tuple[FakeEngine, str]]:
    """The service, listening on 127.0.0.1, and its address."""
    engine = FakeEngine()
    with serving(engine_pb2_grpc.add_EngineServicer_to_server, engine) as address:
        yield engine, address
