"""The baseline of ``bench.ingest``: a minimal FastAPI JSON endpoint with a pydantic body.

Served by ``uvicorn`` in its own process as the ingest service is (default loop and HTTP
implementation: uvloop and httptools when installed), so the single-event webhook figure
has a like-for-like web framework floor measured with the same client in the same run.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Notable(BaseModel):
    """The fields of the bench's Splunk notable."""

    rule_name: str
    urgency: str
    src: str
    dest: str
    user: str
    event_id: str


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/ingest/{source}", status_code=202)
async def ingest(source: str, notable: Notable) -> dict[str, str]:
    return {"source": source, "event_id": notable.event_id}
