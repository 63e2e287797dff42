"""What every portal page shares: the member, the layout's context, the errors as pages."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from portal_app.access import portal_required
from scalehooks.errors import DomainError, NotFound


def page(request, template: str, context: dict | None = None, *, status: int = 200):
    """``template`` in the portal's layout, for the signed-in member (if any)."""
    member = getattr(request, "member", None)
    return render(request, template, {"member": member, **(context or {})}, status=status)


def not_found(request, message: str = "There is nothing here, or it belongs to another account or side."):
    """A 404 inside the portal's layout."""
    return page(request, "portal/not_found.html", {"message": message}, status=404)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _safe(request, target: str) -> bool:
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


def back(request, fallback: str, *, referer: bool = True) -> HttpResponseRedirect:
    """Back where the member came from: the ``next`` the form sent, else (``referer``) the page
    the form was on, when it is of this site; else ``fallback``."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if referer:
        candidates.append(request.META.get("HTTP_REFERER"))
    for target in candidates:
        if _safe(request, target or ""):
            return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def portal_view(view):
    """A portal page: signed-in members only; another account's object (``NotFound``, ``Http404``)
    is a 404 page in the layout; a refused action (``DomainError``, ``ValidationError``) is a
    message on the page the member came from."""

    @portal_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, Http404):
            return not_found(request)
        except (DomainError, ValidationError) as exc:
            if request.method != "POST":
                raise
            messages.error(request, error_text(exc))
            return back(request, "/portal/")

    return wrapped


def refuse_get(request):
    """Actions change things and only POST (their buttons send the CSRF token): a 405 page for
    any other method. Call it after the object's lookup, so that another account's object is a
    404 whatever the method."""
    if request.method != "POST":
        return page(request, "portal/not_found.html", {"message": "Use the page's button."}, status=405)
    return None
