"""What the member pages of the friend-assisted types share: finding a task the visitor may see (and who
brought them, from the share link), the QR code of the task's share link and the starter's poster."""

from django.http import Http404, HttpRequest, HttpResponse

from campaigns import posters as campaign_posters
from campaigns import selectors, services
from campaigns.member_views import remember_inviter
from groups import posters, qr


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


def share_poster(request: HttpRequest, task, *, filename: str) -> HttpResponse:
    """The starter's poster of their own task: the product's picture, the prices, what the task still lacks
    (还差 N 刀, 还差 N 人助力, from the kind's poster_offer), the starter's name and the task's share link,
    which credits them. Anyone else (a friend who helped included) gets a 404: it is not their poster."""
    if request.user.pk != task.starter_id:
        raise Http404
    campaign = task.campaign
    png = posters.poster_png(
        inviter_name=task.starter.public_name,
        url=services.share_link(campaign, task.starter, task),
        expires_at=task.expires_at,
        cover=campaign_posters.product_picture(campaign),
        **campaign_posters.poster_words(campaign, task),
    )
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
