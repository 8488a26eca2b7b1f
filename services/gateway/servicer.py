"""gRPC mapping of the gateway."""

from __future__ import annotations

from gateway.pipeline import ChatPipeline
from llmops.v1 import gateway_pb2_grpc


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    def __init__(self, pipeline: ChatPipeline) -> None:
        self.pipeline = pipeline

    async def Chat(self, request, context):
        return await self.pipeline.chat(request)
