from django.urls import path

from . import installable, language, member_files, views

app_name = "rooms"
urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/<str:code>/", views.room, name="room"),
    path("rooms/<str:code>/leave/", views.leave, name="leave"),
    path("rooms/<str:code>/own/<str:key>/", views.claim_owner, name="claim_owner"),
    path("rooms/<str:code>/passphrase/", views.passphrase, name="passphrase"),
    path("rooms/<str:code>/watch/<str:token>/", views.watch, name="watch"),
    path("rooms/<str:code>/transcript.<str:fmt>", member_files.transcript, name="transcript"),
    path("rooms/<str:code>/qr.svg", member_files.invite_qr, name="invite_qr"),
    path("rooms/<str:code>/uploads/", member_files.upload_image, name="upload_image"),
    path("uploads/<int:attachment_id>/<str:kind>", member_files.uploaded_image, name="uploaded_image"),
    path("language/", language.choose_language, name="language"),
    path("healthz", views.healthz, name="healthz"),
    path("manifest.webmanifest", installable.manifest, name="manifest"),
    path("service-worker.js", installable.service_worker, name="service_worker"),
    path("offline/", installable.offline, name="offline"),
]
