"""The protocol layer: bytes -> JSON -> envelope -> error class or models. No I/O.

::

    form      request bodies (key, action, fields; multi-ID lists)
    decode    bytes to JSON, whatever the Content-Type
    envelope  where an error's words or an answer sit in the JSON
    classify  words (and HTTP status) to an error class; bad shapes to ProtocolError
    convert   the cattrs converter: tolerant scalars, renamed fields, shared values
    answers   each action's answer to models, per-ID errors included
    fast      the common status answers from bytes straight to models (answers as fallback)
    reply     one HTTP answer (status, headers, body) to its models or its Failure
"""

from .answers import (
    parse_add,
    parse_balance,
    parse_cancels,
    parse_refill,
    parse_refill_status,
    parse_refill_statuses,
    parse_refills,
    parse_services,
    parse_status,
    parse_statuses,
)
from .classify import error_class, panel_error
from .convert import ShapeError, converter
from .decode import NOT_JSON, decode
from .envelope import error_text, find_error
from .fast import Reader, bind
from .form import Form
from .reply import read_reply, retry_after

__all__ = [
    "NOT_JSON",
    "Form",
    "Reader",
    "ShapeError",
    "bind",
    "converter",
    "decode",
    "error_class",
    "error_text",
    "find_error",
    "panel_error",
    "parse_add",
    "parse_balance",
    "parse_cancels",
    "parse_refill",
    "parse_refill_status",
    "parse_refill_statuses",
    "parse_refills",
    "parse_services",
    "parse_status",
    "parse_statuses",
    "read_reply",
    "retry_after",
]
