"""Pages outside any shop: sign-up and its confirmation, accepting an invitation, password reset,
and one's own profile."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from ..access import membership_for
from ..actions.admin import do_accept_invitation, do_update_member, invitation_by_token
from ..actions.signup import (
    check_signup,
    check_signup_token,
    do_accept_invitation_as_new_user,
    do_change_password,
    do_confirm_signup,
    do_signup,
    do_update_profile,
    is_unconfirmed,
    languages_from_header,
)
from ..errors import ActionError, Invalid, NotFound
from ..models import Membership, User
from .settings_base import apply_errors
from .settings_forms import set_choices, time_zone_choices

_BACKEND = "django.contrib.auth.backends.ModelBackend"


def rate_limited(request: HttpRequest, scope: str) -> bool:
    """Count this request against the per-IP hourly budget of `scope`; True when over it.

    The counter lives in Django's cache: per process by default, shared through Redis when
    REDIS_URL is set.
    """
    key = f"frontdesk:rate:{scope}:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count > settings.FRONTDESK_SIGNUP_RATE_PER_HOUR


def _too_many(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context["error"] = _("Too many attempts from your network. Please try again in an hour.")
    return render(request, template, context, status=429)


def inbox_url(slug: str) -> str:
    try:
        return reverse("inbox", args=[slug])
    except NoReverseMatch:  # the workspace is not mounted (never in a full installation)
        return reverse("home")


# --- Sign-up ------------------------------------------------------------------------------------------


class SignupForm(forms.Form):
    shop_name = forms.CharField(
        label=gettext_lazy("Shop name"),
        max_length=200,
        help_text=gettext_lazy("Your customers see it; you can change it later."),
    )
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=150)
    email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=320,
        help_text=gettext_lazy("We send a link to confirm it. You sign in with it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html,
    )


def _signup_enabled() -> None:
    if not settings.FRONTDESK_SIGNUP_ENABLED:
        raise Http404


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    _signup_enabled()
    template = "desk/account/signup.html"
    if request.method != "POST":
        return render(request, template, {"form": SignupForm()})
    form = SignupForm(request.POST)
    if rate_limited(request, "signup"):
        return _too_many(request, template, {"form": form})
    if not form.is_valid():
        return render(request, template, {"form": form}, status=422)
    try:
        data = check_signup(**form.cleaned_data)
    except ActionError as exc:
        apply_errors(form, exc)
        return render(request, template, {"form": form}, status=exc.status)
    do_signup(data, languages=languages_from_header(request.headers.get("Accept-Language", "")))
    request.session["signup_email"] = data.email
    return redirect("signup_sent")


def signup_sent(request: HttpRequest) -> HttpResponse:
    _signup_enabled()
    return render(
        request, "desk/account/signup_sent.html", {"email": request.session.get("signup_email", "")}
    )


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button, POST confirms: mail scanners that open links must not use them up."""
    _signup_enabled()
    try:
        user, data = check_signup_token(token)
    except Invalid as exc:
        return render(request, "desk/account/signup_invalid.html", {"error": exc.message}, status=400)
    if request.method != "POST":
        return render(
            request,
            "desk/account/signup_confirm.html",
            {"shop_name": data.get("s", ""), "confirmed": not is_unconfirmed(user), "email": user.email},
        )
    try:
        result = do_confirm_signup(token)
    except Invalid as exc:
        return render(request, "desk/account/signup_invalid.html", {"error": exc.message}, status=400)
    if result.tenant is None:
        if request.user.is_authenticated and request.user.pk == result.user.pk:
            return redirect("home")
        messages.info(request, _("Your email address is confirmed already. Sign in to continue."))
        return redirect("login")
    login(request, result.user, backend=_BACKEND)
    messages.success(
        request, _("Welcome! %(shop)s is ready. A few steps to get going:") % {"shop": result.tenant.name}
    )
    return redirect("settings", result.tenant.slug)


# --- Invitations ------------------------------------------------------------------------------------


class JoinForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html,
    )


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    template = "desk/account/invitation.html"
    try:
        invite = invitation_by_token(token)
    except ActionError as exc:
        return render(request, "desk/account/invitation_invalid.html", {"error": exc.message}, status=404)
    context: dict[str, Any] = {"invitation": invite, "token": token}
    user = request.user
    if user.is_authenticated:
        assert isinstance(user, User)
        if user.email.lower() != invite.email:
            context["wrong_user"] = True
            return render(request, template, context, status=403)
        if request.method != "POST":
            return render(request, template, context)
        try:
            membership = do_accept_invitation(user, token)
        except ActionError as exc:
            context["error"] = exc.message
            return render(request, template, context, status=exc.status)
        return _joined(request, membership)
    existing = User.objects.filter(email__iexact=invite.email).first()
    if existing is not None and not is_unconfirmed(existing):
        messages.info(
            request,
            _("Sign in as %(email)s to accept the invitation to %(shop)s.")
            % {"email": invite.email, "shop": invite.tenant.name},
        )
        return redirect(f"{reverse('login')}?next={request.path}")
    form = JoinForm(request.POST if request.method == "POST" else None)
    context["form"] = form
    if request.method != "POST":
        return render(request, template, context)
    if not form.is_valid():
        return render(request, template, context, status=422)
    try:
        membership = do_accept_invitation_as_new_user(token, **form.cleaned_data)
    except ActionError as exc:
        apply_errors(form, exc)
        return render(request, template, context, status=exc.status)
    login(request, membership.user, backend=_BACKEND)
    return _joined(request, membership)


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    messages.success(
        request,
        _("Welcome to %(shop)s! You joined as %(role)s.")
        % {"shop": membership.tenant.name, "role": membership.get_role_display()},
    )
    return redirect(inbox_url(membership.tenant.slug))


# --- Password reset -----------------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with links to this installation's public address and a per-IP limit."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if rate_limited(request, "password_reset"):
            return _too_many(request, str(self.template_name), self.get_context_data(form=self.get_form()))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"base_url": settings.FRONTDESK_BASE_URL}
        return super().form_valid(form)


# --- Profile --------------------------------------------------------------------------------------------


class ProfileForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=150)
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        help_text=gettext_lazy("The language of Frontdesk's screens for you."),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Times are shown in this zone; empty: the shop's time zone."),
    )

    def __init__(self, *args: Any, time_zone: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "language", [("", _("As the browser asks")), *settings.LANGUAGES])
        set_choices(self, "time_zone", [("", _("The shop's time zone")), *time_zone_choices(time_zone)])


class PasswordForm(forms.Form):
    old_password = forms.CharField(
        label=gettext_lazy("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html,
    )


class SignatureForm(forms.Form):
    """One's signature in one shop (Membership.signature): each shop may want its own."""

    signature = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Added under your email replies, above the shop's footer. Plain text; links become clickable."
        ),
    )

    def __init__(self, *args: Any, shop: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signature"].label = _("Email signature in %(shop)s") % {"shop": shop}


def _signature_forms(memberships: Any, bound: tuple[str, SignatureForm] | None) -> list[tuple[Any, Any]]:
    forms_ = []
    for m in memberships:
        if bound is not None and bound[0] == m.tenant.slug:
            forms_.append((m, bound[1]))
        else:
            form = SignatureForm(
                prefix=f"sig-{m.tenant.slug}", initial={"signature": m.signature}, shop=m.tenant.name
            )
            forms_.append((m, form))
    return forms_


def _save_signature(request: HttpRequest, user: User) -> tuple[str, SignatureForm, HttpResponse | None]:
    """POST action=signature: the member's own signature in the shop named by `shop`."""
    try:
        member = membership_for(user, request.POST.get("shop", ""))
    except NotFound:
        raise Http404 from None
    slug = member.tenant.slug
    form = SignatureForm(request.POST, prefix=f"sig-{slug}", shop=member.tenant.name)
    if form.is_valid():
        try:
            do_update_member(member, member, {"signature": form.cleaned_data["signature"]})
        except ActionError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Your signature in %(shop)s is saved.") % {"shop": member.tenant.name}
            )
            return slug, form, redirect(f"{reverse('profile')}#signature-{slug}")
    return slug, form, None


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    profile_form = ProfileForm(
        initial={"name": user.name, "language": user.language, "time_zone": user.time_zone},
        time_zone=user.time_zone,
    )
    password_form = PasswordForm()
    bound_signature: tuple[str, SignatureForm] | None = None
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "signature":
            slug, form, done = _save_signature(request, user)
            if done is not None:
                return done
            bound_signature = (slug, form)
            status = 422
        elif request.POST.get("action") == "password":
            password_form = PasswordForm(request.POST)
            if password_form.is_valid():
                try:
                    do_change_password(
                        user,
                        password_form.cleaned_data["old_password"],
                        password_form.cleaned_data["new_password"],
                    )
                except ActionError as exc:
                    apply_errors(password_form, exc)
                    status = exc.status
                else:
                    # Stay signed in here; other sessions of this user end with the old password.
                    update_session_auth_hash(request, user)
                    messages.success(request, _("Your password is changed."))
                    return redirect("profile")
            else:
                status = 422
        else:
            profile_form = ProfileForm(request.POST, time_zone=user.time_zone)
            if profile_form.is_valid():
                try:
                    do_update_profile(user, profile_form.cleaned_data)
                except ActionError as exc:
                    apply_errors(profile_form, exc)
                    status = exc.status
                else:
                    messages.success(request, _("Your profile is saved."))
                    response = redirect("profile")
                    if user.language:
                        response.set_cookie(
                            settings.LANGUAGE_COOKIE_NAME,
                            user.language,
                            max_age=settings.LANGUAGE_COOKIE_AGE,
                            samesite="Lax",
                        )
                    return response
            else:
                status = 422
    memberships = (
        Membership.objects.filter(user=user, is_active=True, tenant__is_active=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )
    return render(
        request,
        "desk/account/profile.html",
        {
            "profile_form": profile_form,
            "password_form": password_form,
            "memberships": memberships,
            "signature_forms": _signature_forms(memberships, bound_signature),
        },
        status=status,
    )
