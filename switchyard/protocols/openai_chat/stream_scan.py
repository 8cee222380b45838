"""Finding the events of a Chat Completions stream that the pass-through relay must read.

Almost every event of a stream is a content chunk the relay forwards without looking at it. The
ones it must read carry a usage object, a finish reason, an error (also at a provider's extra
paths, e.g. Groq's ``x_groq.usage``) or ``[DONE]``. Two ways to find them; neither ever misses one:

- ``EventScan.first_special`` decodes a whole block of ``data: {...}`` events at once against a
  schema in which every one of those fields must be null or absent: msgspec validates at C speed
  and skips every other field without building it (about 0.9 ns per byte; a byte scan costs about
  0.35 ns per byte for each needle, and there are six). The first event that fails the schema is
  the first special one; msgspec names its index in the error.
- ``scan_first_special`` is the fallback for anything else (comments, ``data:`` without a space,
  JSON with spaces after the colons): C-level substring counts, then an exact walk. It may stop
  early, at content that mentions "[DONE]" or "error"; the relay then reads that event and
  forwards it unchanged.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

_USAGE, _USAGE_NULL, _USAGE_SET = b'"usage"', b'"usage":null', b'"usage":{'
_FINISH, _FINISH_NULL, _FINISH_SET = b'"finish_reason"', b'"finish_reason":null', b'"finish_reason":"'
_DONE, _ERROR = b"[DONE]", b'"error"'
_DATA = b"data: "
_NEXT_EVENT = b"\n\ndata: "
_DONE_EVENT = b"data: [DONE]\n\n"
# msgspec's ValidationError ends with the path of the value that failed: "... - at `$[9].choices[0]...`"
_AT_EVENT = re.compile(r"at `\$\[(\d+)\]")


def _first_set(block: bytes, key: bytes, first: int) -> int:
    """Where ``key`` ("usage", "finish_reason") first appears in ``block`` with a non-null value
    (``first`` is the byte such a value starts with), or -1. Tolerates spaces after the ':'."""
    i = block.find(key)
    n = len(block)
    while i >= 0:
        j = i + len(key)
        while j < n and block[j] in b" \t:":
            j += 1
        if j < n and block[j] == first:
            return i
        i = block.find(key, j)
    return -1


def _locate(block: bytes, key: bytes, others: int, compact_set: bytes, first: int) -> int:
    """The first non-null ``key`` in ``block``, given that ``others`` occurrences of it are not a
    compact null. Exactly one, in compact form: found directly. Otherwise the exact walk."""
    if others == 1:
        i = block.find(compact_set)
        if i >= 0:
            return i
    return _first_set(block, key, first)


def scan_first_special(block: bytes) -> int:
    """Offset of the first usage object, finish reason, [DONE] or error in ``block``, or -1.
    Looks at "usage" and "error" wherever they are, so it also finds them at a provider's extra
    paths."""
    finish = block.count(_FINISH) - block.count(_FINISH_NULL)
    usage = block.count(_USAGE) - block.count(_USAGE_NULL)
    if not finish and not usage and _ERROR not in block and _DONE not in block:
        return -1
    found = [i for i in (_locate(block, _USAGE, usage, _USAGE_SET, 0x7B) if usage else -1,
                         _locate(block, _FINISH, finish, _FINISH_SET, 0x22) if finish else -1,
                         block.find(_DONE), block.find(_ERROR)) if i >= 0]
    return min(found) if found else -1


def _null_fields(tree: dict[str, Any], name: str) -> list[tuple]:
    """Struct fields that must be null or absent (``tree`` leaves) or, for nested dicts, objects
    whose own such fields must be; msgspec skips every other field without building it."""
    return [(key, None if sub is None else msgspec.defstruct(f"{name}_{key}", _null_fields(sub, name)) | None,
             None) for key, sub in tree.items()]


def _plain_chunk(extra_paths: tuple[tuple[str, ...], ...]) -> type:
    """The schema of a plain content chunk: no usage, finish reason or error, also at ``extra_paths``."""
    tree: dict[str, Any] = {"usage": None, "error": None}
    for path in extra_paths:
        node = tree
        for key in path[:-1]:
            if key in node and node[key] is None:
                break  # must already be null as a whole
            node = node.setdefault(key, {})
        else:
            node[path[-1]] = None
    choice = msgspec.defstruct("PlainChoice", [("finish_reason", None, None)])
    fields = [("choices", list[choice], msgspec.field(default_factory=list)), *_null_fields(tree, "Plain")]
    return msgspec.defstruct("PlainChunk", fields)


class EventScan:
    """The plain-event check for one provider's quirks (extra usage and error paths)."""

    __slots__ = ("_many", "_one")

    def __init__(self, extra_paths: tuple[tuple[str, ...], ...] = ()) -> None:
        self._many, self._one = _decoders(extra_paths)

    def first_special(self, block: bytes) -> int:
        """Offset of the first event in ``block`` (complete events, each ending with a blank line)
        that is not a plain content chunk, or -1."""
        if not block.startswith(_DATA):
            return scan_first_special(block)
        # [DONE] ends a stream, and often the block: it is set aside so the rest decodes as JSON.
        end = len(block) - len(_DONE_EVENT) if block.endswith(_DONE_EVENT) else len(block)
        if end == 0:
            return 0
        body = block[6:end - 2]
        single = b"\n" not in body  # one event: how a live provider's reads usually come
        try:
            if single:
                self._one(body)
            else:
                parts = body.split(_NEXT_EVENT)
                self._many(b"[" + b",".join(parts) + b"]")
            return -1 if end == len(block) else end
        except msgspec.ValidationError as e:
            if single:
                return 0
            m = _AT_EVENT.search(str(e))
            if m is not None:
                k = int(m.group(1))  # event k starts after k parts and k separators
                return sum(map(len, parts[:k])) + len(_NEXT_EVENT) * k
        except msgspec.DecodeError:
            pass  # a comment or another field among the events, data: without a space
        return scan_first_special(block)

    def plain(self, event: bytes) -> bool:
        """Whether one event (without its blank line) is a plain content chunk."""
        if event.startswith(_DATA):
            try:
                self._one(event[6:])
                return True
            except msgspec.ValidationError:
                return False
            except msgspec.DecodeError:
                pass
        return scan_first_special(event) < 0


@functools.cache
def _decoders(extra_paths: tuple[tuple[str, ...], ...]):
    chunk = _plain_chunk(extra_paths)
    return msgspec.json.Decoder(list[chunk]).decode, msgspec.json.Decoder(chunk).decode
