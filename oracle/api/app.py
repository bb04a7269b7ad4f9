"""The FastAPI application: JSON read API under /api, the dashboard at /, Prometheus metrics at /metrics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from oracle.api.dashboard import render_dashboard
from oracle.api.metrics import registry_for
from oracle.api.schemas import FeedOut, Health, RoundEvidence, RoundPage
from oracle.api.service import ReadService
from oracle.exceptions import ApiError
from oracle.feeds.schema import FeedSpec
from oracle.store import RoundStatus, Store

SHA256_PATTERN = r"^[0-9a-f]{64}$"
T = TypeVar("T")


def create_app(
    store: Store,
    *,
    build_root: Path,
    specs: Mapping[str, FeedSpec] | None = None,
    refresh_seconds: int = 15,
    rpc_timeout: float = 3.0,
) -> FastAPI:
    """The read API over ``store``; ``specs`` describe feeds whose chain cannot be reached."""
    service = ReadService(store, build_root=build_root, specs=specs or {}, rpc_timeout=rpc_timeout)
    registry = registry_for(store)
    # The interactive docs pages load their scripts from a CDN, which an offline node cannot reach.
    app = FastAPI(
        title="zkoracle read API",
        description="Feeds, rounds and everything needed to verify a round offline (`zkoracle verify`).",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.get("/api/health", response_model=Health)
    def health() -> Health:
        return Health(status="ok", feeds=len(service.feeds()))

    @app.get("/api/feeds", response_model=list[FeedOut])
    def feeds() -> list[FeedOut]:
        return service.feeds()

    @app.get("/api/feeds/{feed_id}", response_model=FeedOut)
    def feed(feed_id: str) -> FeedOut:
        return _found(service.feed(feed_id), f"no feed '{feed_id}' in the store")

    @app.get("/api/feeds/{feed_id}/rounds", response_model=RoundPage)
    def rounds(
        feed_id: str,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        before: Annotated[int | None, Query(description="only rounds with a smaller id (paging)")] = None,
        status: RoundStatus | None = None,
        chain_id: Annotated[int | None, Query(description="only rounds posted to this chain")] = None,
    ) -> RoundPage:
        _found(service.feed(feed_id), f"no feed '{feed_id}' in the store")
        return service.rounds(feed_id, limit=limit, before=before, status=status, chain_id=chain_id)

    @app.get("/api/feeds/{feed_id}/rounds/latest", response_model=RoundEvidence)
    def latest(
        feed_id: str,
        chain_id: Annotated[int | None, Query(description="the latest landed on this chain; on any by default")] = None,
    ) -> RoundEvidence:
        where = "" if chain_id is None else f" on chain {chain_id}"
        return _found(service.latest(feed_id, chain_id=chain_id), f"feed '{feed_id}' has no landed round{where}")

    @app.get("/api/rounds/{round_id}", response_model=RoundEvidence)
    def round_(round_id: int) -> RoundEvidence:
        return _found(service.round(round_id), f"no round {round_id} in the store")

    @app.get(
        "/api/artifacts/{sha256}",
        response_class=FileResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def artifact(sha256: Annotated[str, PathParam(pattern=SHA256_PATTERN)]) -> FileResponse:
        path = _found(service.artifact(sha256), f"no artifact with SHA-256 {sha256}")
        return FileResponse(path, media_type="application/octet-stream", filename=path.name)

    @app.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse)
    def dashboard(refresh: Annotated[int | None, Query(ge=0, description="seconds; 0 = never")] = None) -> str:
        return render_dashboard(service, refresh_seconds=refresh_seconds if refresh is None else refresh)

    return app


def _found(value: T | None, message: str) -> T:
    if value is None:
        raise HTTPException(status_code=404, detail=message)
    return value
