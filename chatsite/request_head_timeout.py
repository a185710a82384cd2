"""A time limit on a request's head for uvicorn, which has none: a client that sends its headers a
byte at a time (slowloris) would hold a socket and a file descriptor for ever, and enough of them
stop the server. With this, the head (request line and headers) must be complete within
HTTP_HEADER_TIMEOUT_SECONDS of the connection opening, or of the first byte of the next request on
a kept-alive connection; otherwise the connection is closed. A websocket handshake is a request
head too. Applied to uvicorn's httptools protocol when the ASGI application is imported (uvicorn
imports it before serving); daphne is unaffected (behind nginx, `client_header_timeout` does this)."""


def limit_request_head_time(seconds):
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # served by daphne, or uvicorn without httptools
        return
    already = getattr(HttpToolsProtocol, "request_head_seconds", None) is not None
    HttpToolsProtocol.request_head_seconds = seconds
    if already:
        return
    connection_made = HttpToolsProtocol.connection_made
    on_message_begin = HttpToolsProtocol.on_message_begin
    on_headers_complete = HttpToolsProtocol.on_headers_complete
    connection_lost = HttpToolsProtocol.connection_lost

    def stop_clock(protocol):
        timer = getattr(protocol, "request_head_timer", None)
        if timer is not None:
            timer.cancel()
            protocol.request_head_timer = None

    def start_clock(protocol):
        stop_clock(protocol)
        protocol.request_head_timer = protocol.loop.call_later(protocol.request_head_seconds, protocol.transport.close)

    def made(self, transport):
        connection_made(self, transport)
        start_clock(self)

    def message_begun(self):
        on_message_begin(self)
        start_clock(self)

    def headers_completed(self):
        stop_clock(self)
        on_headers_complete(self)

    def lost(self, exc):
        stop_clock(self)
        connection_lost(self, exc)

    HttpToolsProtocol.connection_made = made
    HttpToolsProtocol.on_message_begin = message_begun
    HttpToolsProtocol.on_headers_complete = headers_completed
    HttpToolsProtocol.connection_lost = lost
