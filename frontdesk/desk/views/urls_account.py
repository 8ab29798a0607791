"""Pages without a shop in the URL: sign-up, invitations, password reset, one's profile."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import account

urlpatterns = [
    path("signup/", account.signup, name="signup"),
    path("signup/sent/", account.signup_sent, name="signup_sent"),
    path("signup/confirm/<str:token>/", account.signup_confirm, name="signup_confirm"),
    path("invitations/<str:token>/", account.invitation, name="invitation"),
    path("password/reset/", account.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("account/", account.profile, name="profile"),
]
