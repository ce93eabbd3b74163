"""The one translator from errors to RFC 9457 ``application/problem+json`` responses.

Every 4xx/5xx the API sends passes through here: ``status`` always equals the HTTP code, field
faults carry a JSON pointer, and nothing from a traceback ever reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.errors import AccordError, Invalid, RateLimited
from accord.model.parse import pointer

__all__ = ["PROBLEM_JSON", "install", "problem"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("accord.api")

_TITLES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    500: "Internal error",
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    if request is not None and request.url.path.startswith(TAXII_PREFIX):
        return _taxii_error(status, code, title, detail, request, headers, extra)
    body: dict[str, Any] = {"type": f"urn:accord:problem:{code}", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    body.update(extra)
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


TAXII_PREFIX = "/taxii2/"
TAXII_JSON = "application/taxii+json;version=2.1"


def _taxii_error(
    status: int, code: str, title: str, detail: str, request: Request, headers: dict[str, str] | None, extra: Any
) -> JSONResponse:
    """The same refusal as a TAXII 2.1 error message, for the TAXII server's paths: TAXII clients read
    ``title``, ``description`` and ``http_status``. A request's field faults are a 400 in TAXII."""
    status = 400 if status == 422 else status
    body: dict[str, Any] = {"title": title, "description": detail, "error_code": code, "http_status": str(status)}
    rid = getattr(request.state, "request_id", None)
    if rid:
        body["error_id"] = rid
    if extra:
        body["details"] = dict(extra)
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=TAXII_JSON, headers=headers or None)


def _field_errors(errors: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for where, msg in errors.items():
        if where.startswith("?"):
            out.append({"parameter": where[1:], "detail": msg})
        else:
            out.append({"pointer": where, "detail": msg})
    return out


def _accord(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccordError)
    extra: dict[str, Any] = {}
    if isinstance(exc, Invalid) and exc.errors:
        extra["errors"] = _field_errors(exc.errors)
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):  # a stable refusal code next to the sentence (unsealing)
        extra["reason"] = reason
    clause = getattr(exc, "clause", None)
    if isinstance(clause, str):  # the agreement clause an outgoing share breaks (federation)
        extra["clause"] = clause
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return problem(exc.status, exc.code, exc.title, exc.detail, request, headers, **extra)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own parameter and body validation, reshaped: body faults get pointers, others a parameter."""
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        where, rest = (loc[0], loc[1:]) if loc else ("body", ())
        if err.get("type") == "json_invalid":
            errors.setdefault("", f"malformed JSON: {err.get('ctx', {}).get('error', err.get('msg'))}")
        elif where == "body":
            errors.setdefault(pointer(rest), str(err.get("msg", "")).removeprefix("Value error, "))
        else:
            errors.setdefault(
                f"?{'.'.join(str(p) for p in rest)}", str(err.get("msg", "")).removeprefix("Value error, ")
            )
    first = next(iter(errors.items()), ("", "invalid request"))
    detail = f"{first[0].lstrip('?') or '/'}: {first[1]}"
    malformed = "" in errors and errors[""].startswith("malformed JSON")
    return problem(
        400 if malformed else 422,
        "malformed" if malformed else "invalid",
        "Malformed request" if malformed else "Invalid input",
        detail,
        request,
        errors=_field_errors(errors),
    )


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    return problem(exc.status_code, title.lower().replace(" ", "-"), title, str(exc.detail), request)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled %s on %s %s (request %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        getattr(request.state, "request_id", "-"),
    )
    return problem(
        500, "internal", "Internal error", "the server failed; the request id identifies it in the log", request
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AccordError, _accord)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
