"""A JSON-RPC endpoint in front of a real chain that can be switched off, as a dead node behind a load balancer is."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request, Response


class RpcGateway:
    """Relays every JSON-RPC request to ``upstream`` while ``up``; answers 503 to each one while not.

    The chain behind it keeps its state, so switching the gateway back on is a chain that
    comes back where it stopped, with the blocks, contracts and nonces it had.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.up = True

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/")
        async def relay(request: Request) -> Response:
            if not self.up:
                return Response(status_code=503)
            async with httpx.AsyncClient(timeout=60) as client:
                answer = await client.post(
                    self.upstream, content=await request.body(), headers={"content-type": "application/json"}
                )
            return Response(answer.content, status_code=answer.status_code, media_type="application/json")

        return app
