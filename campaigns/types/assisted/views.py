"""What the member pages of the friend-assisted types share: finding a task the visitor may see (and who
brought them, from the share link) and the QR code of the task's share link."""

from django.http import Http404, HttpRequest, HttpResponse

from campaigns import selectors, services
from campaigns.member_views import remember_inviter
from groups import qr


def visible_task(request: HttpRequest, task_pk: int, *, load, model) -> tuple:
    """The task read by `load(task_pk)` (a `model`) and the member whose share link brought the visitor,
    if its campaign is public and the visitor may see it (FriendTask.visible_to); else a 404."""
    try:
        task = load(task_pk)
    except model.DoesNotExist:
        raise Http404 from None
    if task.campaign.state not in selectors.PUBLIC_STATES:
        raise Http404
    inviter = remember_inviter(request, task.campaign)
    if not task.visible_to(request.user, inviter):
        raise Http404
    return task, inviter


def share_qr(request: HttpRequest, task, *, filename: str) -> HttpResponse:
    """The QR code of the task's share link, for the starter and the friends who acted on it only."""
    if not task.involves(request.user):
        raise Http404
    response = HttpResponse(qr.qr_png(services.share_link(task.campaign, task.starter, task)), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
