"""``POST /rest/api/2/issue/{key}/attachments``: multipart uploads behind Jira's XSRF check.

Jira accepts multipart/form-data from scripts only with ``X-Atlassian-Token: no-check``
(REST reference: "In order to protect against XSRF attacks ... you must submit a header of
X-Atlassian-Token: no-check with the request, otherwise it will be blocked"); blocked
requests get 403 with the text ``XSRF check failed``. Files come in parts named ``file``;
the answer is 200 with a list of attachment beans.

The body is read part by part and only counted, never kept: a benchmark may push a 100 MiB
file through without the simulator holding it (the app's ``client_max_size`` does not apply
to the multipart reader).
"""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from seatgate_simulator.content_api import issue_key_or_404
from seatgate_simulator.context import base_url, json_response, require_user, rest_error, state_of
from seatgate_simulator.state import Attachment, now_ms

XSRF_HEADER = "X-Atlassian-Token"
XSRF_BYPASS = ("no-check", "nocheck")  # "nocheck" is the spelling older Jira docs use
CHUNK = 256 * 1024


def xsrf_refusal(request: web.Request) -> web.Response | None:
    if request.headers.get(XSRF_HEADER, "").strip().lower() in XSRF_BYPASS:
        return None
    return web.Response(status=403, text="XSRF check failed", content_type="text/plain")


def attachment_json(request: web.Request, a: Attachment) -> dict[str, Any]:
    base = base_url(request)
    return {
        "self": f"{base}/rest/api/2/attachment/{a.attachment_id}",
        "id": str(a.attachment_id),
        "filename": a.filename,
        "author": {"name": a.author},
        "created": a.created_ms,
        "size": a.size,
        "mimeType": a.mime_type,
        "content": f"{base}/secure/attachment/{a.attachment_id}/{a.filename}",
    }


async def _count(part: BodyPartReader) -> int:
    size = 0
    while chunk := await part.read_chunk(CHUNK):
        size += len(chunk)
    return size


async def add_attachments(request: web.Request) -> web.StreamResponse:
    refusal = xsrf_refusal(request)
    if refusal is not None:
        return refusal
    user = require_user(request)
    key = issue_key_or_404(request)
    if not request.content_type.startswith("multipart/"):
        return rest_error("jira", 415, "The attachments must be sent as multipart/form-data.")
    state = state_of(request)
    stored: list[Attachment] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name != "file" or not part.filename:
            await _count(part)  # drain and ignore, as Jira ignores other form fields
            continue
        mime = part.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        size = await _count(part)
        stored.append(Attachment(state.next_id(), user, part.filename, mime, size, now_ms()))
    if not stored:
        return rest_error("jira", 400, "No file was attached: the multipart field must be named 'file'.")
    state.issue(key).attachments.extend(stored)
    return json_response([attachment_json(request, a) for a in stored])


def add_routes(app: web.Application) -> None:
    app.router.add_post("/rest/api/2/issue/{key}/attachments", add_attachments)
