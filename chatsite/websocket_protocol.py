"""uvicorn's sans-I/O websockets protocol with each connection's writes coalesced per loop turn.

A burst of room messages reaches one connection as several frames in a row; uvicorn writes each
to its socket at once, one system call per frame. Here the frames written in one turn of the event
loop go out in one write at the end of it: the same bytes in the same order, fewer system calls.
`make run` selects it with `--ws chatsite.websocket_protocol:CoalescingWebSocketProtocol`.
"""

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class CoalescingTransport:
    """A transport whose `write`s are gathered and written once when the loop comes round; every
    other call (close, pause, extra info) first writes what is gathered, so nothing is reordered."""

    def __init__(self, transport, loop):
        self._transport = transport
        self._loop = loop
        self._chunks = []

    def write(self, data):
        if not data:
            return
        if not self._chunks:
            self._loop.call_soon(self.flush)
        self._chunks.append(data)

    def writelines(self, chunks):
        for data in chunks:
            self.write(data)

    def flush(self):
        if self._chunks:
            data = b"".join(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
            self._chunks = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self):
        self.flush()
        self._transport.close()

    def abort(self):
        self._chunks = []
        self._transport.abort()

    def __getattr__(self, name):
        # is_closing, get_extra_info, pause_reading, resume_reading, ...: the real transport's.
        return getattr(self._transport, name)


class CoalescingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol writing through a `CoalescingTransport`."""

    def connection_made(self, transport):
        super().connection_made(CoalescingTransport(transport, self.loop))
