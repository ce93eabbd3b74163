"""Parse untrusted input into models, turning pydantic's errors into ``Invalid`` with JSON pointers."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from accord.errors import Invalid

__all__ = ["errors_from", "parse_json", "parse_obj", "pointer"]

M = TypeVar("M", bound=BaseModel)


def pointer(loc: tuple[int | str, ...]) -> str:
    """RFC 6901 JSON pointer for a pydantic error location."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def errors_from(exc: ValidationError, strip: int = 0) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])[strip:]
        if err["type"] == "json_invalid":
            out.setdefault("", f"malformed JSON: {err['ctx'].get('error', err['msg'])}" if "ctx" in err else err["msg"])
            continue
        msg = err["msg"].removeprefix("Value error, ")
        out.setdefault(pointer(loc), msg)
    return out


def _invalid(errors: dict[str, str]) -> Invalid:
    first = next(iter(errors.items()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Invalid(f"{first[0] or '/'}: {first[1]}{more}", errors)


def parse_json(model: type[M], data: bytes | str) -> M:
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise _invalid(errors_from(exc)) from None


def parse_obj(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(errors_from(exc)) from None
