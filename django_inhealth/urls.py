"""Project URLs: the admin, Django's auth views, and the healthcare app."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "InHealth administration"
admin.site.site_title = "InHealth admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("healthcare.urls")),
]
