"""API tokens of a shop. A token's secret is shown once, in the answer to creating it, and is
never stored (only its hash) nor put in the session."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from ..access import access_api_token
from ..actions.admin import do_create_api_token, do_revoke_api_token
from ..errors import ActionError, Invalid
from ..models import ApiToken, Role
from .base import MemberRequest
from .settings_base import apply_errors, page, settings_view
from .settings_forms import TokenForm


def _tokens_page(
    request: MemberRequest,
    form: TokenForm,
    *,
    created: ApiToken | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    tokens = (
        ApiToken.objects.filter(tenant=request.member.tenant)
        .select_related("member__user")
        .order_by("revoked_at", "-created_at")
    )
    return page(
        request,
        "tokens.html",
        {
            "section": "settings_tokens",
            "tokens": tokens,
            "form": form,
            "created": created,
            "secret": secret,
            "prefix": ApiToken.PREFIX,
        },
        status=status,
    )


@settings_view(Role.ADMIN, methods=("GET", "POST"))
def tokens(request: MemberRequest) -> HttpResponse:
    """The tokens; POST creates one and shows its secret, this once."""
    if request.method != "POST":
        return _tokens_page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=422)
    try:
        token, secret = do_create_api_token(request.member, form.cleaned_data["name"])
    except ActionError as exc:
        apply_errors(form, exc)
        return _tokens_page(request, form, status=exc.status)
    response = _tokens_page(request, TokenForm(), created=token, secret=secret, status=201)
    # The page holds a secret: keep it out of caches and the browser's back-forward history store.
    response["Cache-Control"] = "no-store"
    return response


@settings_view(Role.ADMIN, methods=("POST",))
def token_detail(request: MemberRequest, token_id: int) -> HttpResponse:
    token = access_api_token(request.member, token_id)
    if request.POST.get("action") != "revoke":
        raise Invalid(_("Unknown action."))
    if token.revoked_at is not None:
        raise Invalid(_("This token is revoked already."), code="revoked")
    do_revoke_api_token(request.member, token)
    messages.success(
        request,
        _("The token %(name)s is revoked: requests with it are refused from now on.") % {"name": token.name},
    )
    return redirect("settings_tokens", request.member.tenant.slug)
