"""The OpenAPI 3.1 document of the bots' HTTP API and webhook, served at /api/v1/openapi.json.
Hand-written data; tests/test_api_schema.py runs schemathesis against a live server to keep it true."""

from django.conf import settings

from rooms.limits import BOT_PAGE_MAX, CLIENT_ID_MAX_CHARS


def error_response(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


ERRORS = {
    "400": error_response("Malformed JSON, or a field or query parameter that breaks a rule."),
    "401": {
        **error_response("No bot token, or an unknown or revoked one."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "403": error_response("The token belongs to another room."),
    "404": error_response("No room with this code."),
    "405": error_response("Method not allowed."),
    "413": error_response("The request body is over the limit."),
    "429": {
        **error_response("This token posted too much lately."),
        "headers": {"Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
    },
    "503": error_response("The database did not answer; retry."),
}


def responses(ok, *codes):
    return {**ok, **{code: ERRORS[code] for code in codes}}


MESSAGE = {
    "type": "object",
    "required": ["type", "id", "name", "body", "ts", "client_id", "author", "edited", "deleted", "seq"],
    "properties": {
        "type": {"const": "message"},
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "body": {"type": "string"},
        "ts": {"type": "string", "format": "date-time"},
        "client_id": {"type": ["string", "null"]},
        "author": {"type": ["string", "null"], "description": "Opaque tag of the author's session; null for bots."},
        "edited": {"type": ["string", "null"]},
        "deleted": {"type": "boolean"},
        "deleted_by": {"type": "string"},
        "reactions": {"type": "array"},
        "reply_to": {"type": "object"},
        "action": {"const": True},
        "pinned": {"const": True},
        "attachments": {"type": "array"},
        "bot": {"const": True, "description": "Present (and true) only on messages posted with a bot token."},
        "seq": {"type": "integer", "minimum": 0},
    },
}

CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 16}}


def openapi_document():
    max_chars = settings.MESSAGE_MAX_CHARS
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "roomchat bots",
            "version": "1",
            "description": "Post to a roomchat room and follow it with a room bot token (docs/protocol.md).",
        },
        "components": components(),
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/rooms/{code}/messages": {
                "parameters": [CODE],
                "post": {
                    "summary": "Post a message as the token's bot",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["body"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "body": {"type": "string", "minLength": 1, "maxLength": max_chars},
                                        "client_id": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": CLIENT_ID_MAX_CHARS,
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses(
                        {
                            "201": message_response("Stored and sent to the room."),
                            "200": message_response("A resend of a client_id already stored: the stored message."),
                        },
                        "400",
                        "401",
                        "403",
                        "404",
                        "405",
                        "413",
                        "429",
                        "503",
                    ),
                },
                "get": {
                    "summary": "The room's messages stored after a log position, oldest first",
                    "parameters": [
                        {"name": "after_seq", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": BOT_PAGE_MAX},
                        },
                    ],
                    "responses": responses(
                        {
                            "200": {
                                "description": "A page of messages; ask again with after_seq=next_after_seq.",
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "object",
                                            "required": ["messages", "next_after_seq", "has_more"],
                                            "properties": {
                                                "messages": {
                                                    "type": "array",
                                                    "items": {"$ref": "#/components/schemas/Message"},
                                                },
                                                "next_after_seq": {"type": "integer", "minimum": 0},
                                                "has_more": {"type": "boolean"},
                                            },
                                        }
                                    }
                                },
                            }
                        },
                        "400",
                        "401",
                        "403",
                        "404",
                        "405",
                        "503",
                    ),
                },
            },
            "/hooks/{token}": {
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "post": {
                    "summary": "Slack-compatible incoming webhook",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/SlackPayload"}},
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["payload"],
                                    "properties": {"payload": {"type": "string", "description": "The JSON payload."}},
                                }
                            },
                        },
                    },
                    "responses": responses(
                        {"200": {"description": "Posted.", "content": {"text/plain": {"schema": {"const": "ok"}}}}},
                        "400",
                        "401",
                        "404",
                        "405",
                        "413",
                        "429",
                        "503",
                    ),
                },
            },
        },
    }


def message_response(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}},
    }


def components():
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Message": MESSAGE,
            "Error": {
                "type": "object",
                "required": ["error", "detail"],
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
            },
            "SlackPayload": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "username": {"type": "string", "description": "Shown as the author; the bot badge stays."},
                    "attachments": {
                        "type": "array",
                        "description": "Legacy attachments: their fallback or title and text.",
                    },
                },
            },
        },
    }
