"""RelayStream.pump, the push-mode pass-through body: what it writes as the provider's reads come in
and what it leaves for the server's last write."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from switchyard.gateway.attempt import RelayStream
from switchyard.protocols.openai_chat.passthrough import OpenAIPassthroughStream
from switchyard.telemetry.record import Attempt, GenerationRecord
from tests.protocols.openai_chat.helpers import fixture, sse_json

EVENTS = [e + b"\n\n" for e in fixture("text.sse").split(b"\n\n") if e]  # role, 4 words, finish, usage, [DONE]


class FakeRun:
    """The parts of AttemptRun that pump touches."""

    def __init__(self) -> None:
        self.rec = GenerationRecord("openai/gpt-4o", stream=True)
        self.rec.model, self.rec.provider, self.rec.provider_model_id = "openai/gpt-4o", "openai", "gpt-4o"
        self.rec.attempts.append(Attempt("openai", "openai/gpt-4o", "gpt-4o", 1000.0, 1100.0, True, 200))
        self.cand = SimpleNamespace(offering=SimpleNamespace(pricing=SimpleNamespace(cost=lambda usage: 0.001)))
        self.ok = self.closed = 0

    def _finished_ok(self) -> None:
        self.ok += 1

    def _stream_closed(self, resp) -> None:
        self.closed += 1


class FakeResponse:
    """Push mode over a list of socket reads."""

    def __init__(self, reads: list[bytes]) -> None:
        self.reads = reads

    def push(self, on_data):
        for data in self.reads:
            on_data(data)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


async def pump(reads: list[bytes], wants_usage: bool = True) -> tuple[list[bytes], bytes, FakeRun]:
    run, relay = FakeRun(), OpenAIPassthroughStream("openai", wants_usage)
    first = relay.feed(EVENTS[0])
    body = RelayStream(run, FakeResponse(reads), None, relay, first)  # type: ignore[arg-type]
    assert await body.__anext__() == first  # how the server takes the first piece
    writes: list[bytes] = []
    last = await body.pump(writes.append, SimpleNamespace())
    return writes, last, run


async def test_the_read_with_done_goes_out_with_our_last_piece():
    # the last read holds a word, the finish chunk, the usage chunk and [DONE]
    writes, last, run = await pump([b"".join(EVENTS[1:3]), b"".join(EVENTS[3:])])
    assert writes == [b"", b"".join(EVENTS[1:3])]  # flush before waiting, then the first read as it came
    # the rest of the provider's bytes as they were (two words, the finish chunk), then our usage
    # chunk with cost and metadata, then [DONE]: one piece, for one write
    assert last.startswith(b"".join(EVENTS[3:6]))
    got = sse_json(last[len(b"".join(EVENTS[3:6])):])
    assert got[0]["choices"] == [] and got[0]["usage"]["cost"] == 0.001 and "provider_metadata" in got[0]
    assert got[1:] == ["[DONE]"] and run.ok == 1 and run.closed == 1


async def test_reads_before_done_are_written_as_they_come():
    reads = [EVENTS[i] for i in range(1, len(EVENTS))]  # one event per read; [DONE] alone
    writes, last, run = await pump(reads, wants_usage=False)
    assert writes[0] == b"" and b"".join(writes[1:]) == b"".join(EVENTS[1:5])  # the words, one by one
    got = sse_json(last)  # the held finish chunk with our metadata, and [DONE]
    assert got[0]["choices"][0]["finish_reason"] == "stop" and "provider_metadata" in got[0]
    assert got[1:] == ["[DONE]"]
