"""The page of an email confirmation link (``callbacks_app.confirmations``).

A GET shows the address and a button; only the POST it sends confirms. Mail
scanners and link previews fetch links (GET) by themselves: a GET must not
confirm anything. An unknown, used or expired link is a 404 page.
"""

from django.http import HttpResponseNotAllowed
from django.template.response import TemplateResponse

from callbacks_app.confirmations import (
    CONFIRMATION_LINK_VALID,
    email_confirmation_confirm,
    email_confirmation_for_token,
)
from scalehooks import access

TEMPLATE = "callbacks_app/email_confirmation.html"


@access.route_policy(
    access.public("a confirmation link: its token is the secret; GET only asks, POST confirms")
)
def email_confirmation_view(request, token):
    if request.method == "GET":
        confirmation = email_confirmation_for_token(token=token)
        state = "ask" if confirmation else "invalid"
    elif request.method == "POST":
        confirmation = email_confirmation_confirm(token=token)
        state = "confirmed" if confirmation else "invalid"
    else:
        return HttpResponseNotAllowed(["GET", "POST"])
    response = TemplateResponse(
        request,
        TEMPLATE,
        {
            "state": state,
            "address": confirmation.address if confirmation else "",
            "valid_hours": int(CONFIRMATION_LINK_VALID.total_seconds() // 3600),
        },
        status=404 if state == "invalid" else 200,
    )
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response["Cache-Control"] = "no-store"
    return response
