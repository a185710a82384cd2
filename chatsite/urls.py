from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("rooms.urls")),
]

# A locked SQLite database answers with a "busy" page (503), not a server error.
handler500 = "rooms.views.server_error"
