# roomchat web worker image: Django + Channels served by uvicorn (daphne is installed too).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Hashed, compressed static files baked into the image; WhiteNoise serves them. No secrets are
# needed to collect them, so a throwaway key is enough here.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0

RUN useradd --system --home-dir /app roomchat
USER roomchat

EXPOSE 8000
CMD ["uvicorn", "chatsite.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--loop", "uvloop", "--http", "httptools", "--ws", "chatsite.websocket_protocol:CoalescingWebSocketProtocol", "--ws-per-message-deflate", "false", "--lifespan", "off", "--ws-max-size", "1048576", "--no-proxy-headers"]
