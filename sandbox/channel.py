"""The result channel from a jailed child to its worker: one authenticated frame, written by code bound early.

The child writes exactly one frame to a pipe of its own: the job's token (random bytes the worker drew before
forking, never shown to the job's code) followed by the result record as JSON. The worker accepts exactly that
and nothing else: bytes a program wrote into the pipe itself (through a path such as `/dev/fd/N`, or an fd it
guessed) lack the token or break the framing, and the job is then a `runtime_error`, never a pass.

`write_result` holds its own references to everything it calls (bound when this module is imported, before
any job's code runs), and serialises with the C string encoder of the `json` package, not with `json.dumps`:
a program that rebinds `json.dumps`, `json.encoder` or `os.write` changes nothing here. What the policy keeps
out of reach (frames, `gc`, this package) is what keeps the token secret; see docs/sandbox.md, "Verdicts".

Stdlib-only: the jailed worker imports it.
"""

from __future__ import annotations

import json
import json.encoder
import os

from sandbox.results import Status

TOKEN_BYTES = 16
# The only fields a child reports; the worker rejects a record with any other.
_FIELDS = ("status", "output", "data", "error_type", "error")
_STATUSES = frozenset(s.value for s in Status)


def new_token() -> bytes:
    return os.urandom(TOKEN_BYTES).hex().encode("ascii")


def _make_writer():
    quote = json.encoder.c_encode_basestring_ascii or json.encoder.py_encode_basestring_ascii
    write, fields, str_type, view_of = os.write, _FIELDS, str, memoryview

    def write_result(fd: int, token: bytes, record: dict) -> None:
        """Writes `token` + the record (str or None values of the known fields) as one frame."""
        parts = []
        for key in fields:
            value = record.get(key)
            if value is not None:
                text = value if type(value) is str_type else "<not a string>"
                parts.append('"' + key + '": ' + quote(text))
        view = view_of(token + ("{" + ", ".join(parts) + "}").encode("ascii"))
        while view:
            view = view[write(fd, view) :]

    return write_result


write_result = _make_writer()


def read_result(token: bytes, payload: bytes) -> dict | None:
    """The record of a frame written by `write_result` with this token, or None for anything else."""
    if not payload.startswith(token):
        return None
    try:
        record = json.loads(payload[len(token) :])
    except ValueError:
        return None
    if type(record) is not dict or not set(record) <= set(_FIELDS) or record.get("status") not in _STATUSES:
        return None
    if not all(type(value) is str for value in record.values()):
        return None
    return record
