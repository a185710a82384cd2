from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("rooms.urls")),
]

# A locked SQLite database answers with a "busy" page (503), not a server error.
handler500 = "rooms.views.server_error"
# Under /api/ and /hooks/ (the bots' endpoints) Django's own errors are JSON too.
handler400 = "rooms.api.bad_request"
handler404 = "rooms.api.page_not_found"
