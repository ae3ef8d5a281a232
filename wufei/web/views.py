from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from wufei.core.errors import WufeiError
from wufei.core.scope import request_scope
from wufei.core.tokens import issue_token, revoke_token


def home(request):
    return render(request, "web/home.html")


@login_required
def workspace(request):
    """An enterprise user's units with every registered section (stock, ledger, plan, declaration …)."""
    from wufei.registry.models import Organization
    from wufei.registry.views import organization_sections

    scope = request_scope(request)
    organizations = Organization.objects.filter(pk__in=scope.organization_ids).select_related("region")
    return render(request, "web/workspace.html", {"organizations": [
        {"organization": organization, "sections": organization_sections(scope, organization)}
        for organization in organizations
    ]})


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """Personal API tokens: create (the secret is shown once) and revoke."""
    created = None
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                revoke_token(user=request.user, token_id=int(request.POST["revoke"]))
                messages.success(request, _("Token revoked."))
                return redirect("tokens")
            _token, created = issue_token(user=request.user, name=request.POST.get("name") or _("API token"))
        except (WufeiError, ValueError) as exc:
            messages.error(request, str(exc))
    return render(request, "web/tokens.html", {
        "tokens": request.user.api_tokens.order_by("-created_at"), "created": created,
    })
