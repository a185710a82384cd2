from django.contrib import admin
from django.urls import include, path

from chatsite.js_catalog import LanguageCatalog

urlpatterns = [
    path("admin/", admin.site.urls),
    path("jsi18n/<str:language>.js", LanguageCatalog.as_view(), name="js-catalog"),
    path("", include("rooms.urls")),
]

# A locked SQLite database answers with a "busy" page (503), not a server error.
handler500 = "rooms.views.server_error"
