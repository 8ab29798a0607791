from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("frontdesk.desk.views.urls")),
    path("api/", include("frontdesk.desk.api.urls")),
    path("", include("frontdesk.channels.urls")),
    path("operator/", admin.site.urls),
]
