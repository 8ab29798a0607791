"""Search under /t/<slug>/."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import search

urlpatterns: list[URLPattern] = [
    path("search/", search.search, name="search"),
]
