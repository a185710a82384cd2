"""The home form through Django's test client, as a browser submits it."""


def post_home(client, **data):
    """Load the home page (for the CSRF cookie), then post `data` with the token, unless `data`
    brings its own. Meant for a client with `enforce_csrf_checks=True`."""
    client.get("/")
    data.setdefault("csrfmiddlewaretoken", client.cookies["csrftoken"].value)
    return client.post("/", data)
