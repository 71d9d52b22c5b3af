"""Leaderboard pages: a member's rank on their phone, an operator's boards of their own shop, and the
platform admins' boards of every shop with drill-down into a member's events and tree, and export.

Board reads are Redis only (`leaderboards.top` / `rank_of`); the SQL a page runs is for the frame
(who is asking, the choices of groups and series). Operator pages take their shop from
`operator_required`; a member of another shop is a 404 on the drill-down.
"""

import csv
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from groups import selectors as group_selectors
from groups.models import MembershipStatus
from shequn.decorators import member_login_required
from shops.models import OperatorRole, Shop
from shops.tenancy import operator_required

from . import leaderboards as lb
from . import selectors
from .board_forms import BoardForm, MemberBoardForm, PlatformShopForm
from .leaderboards import Metric, Period

PAGE_SIZE = 50
EXPORT_LIMIT = 10000
TREE_LIMIT = 200  # direct invitees shown on a drill-down page, newest first
VIEWER, OPERATOR = OperatorRole.VIEWER, OperatorRole.OPERATOR


def staff_required(view):
    """Platform admins only (is_staff or superuser); everyone else signed in gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (request.user.is_staff or request.user.is_superuser):
            raise PermissionDenied(_("仅平台管理员可以访问。"))
        return view(request, *args, **kwargs)

    return wrapped


# --- Members -------------------------------------------------------------------------------------


@require_GET
@member_login_required
def my_rank(request):
    """My place on the boards of a shop I am in (or of one of my groups): top 50 and my own row."""
    memberships = [
        m for m in group_selectors.memberships_for_member(request.user) if m.status == MembershipStatus.ACTIVE
    ]
    shops = list({m.group.shop_id: m.group.shop for m in memberships}.values())
    if not shops:
        return render(request, "referrals/leaderboards/my_rank.html", {"shops": []})
    shop = next((s for s in shops if str(s.pk) == request.GET.get("shop")), shops[0])
    groups = [m.group for m in memberships if m.group.shop_id == shop.pk]
    group = next((g for g in groups if str(g.pk) == request.GET.get("group")), None)
    form = MemberBoardForm(request.GET or None)
    board = form.board(shop_id=shop.pk, group_id=group.pk if group else None)
    mine, size = lb.rank_of(board, request.user.pk)
    rows = lb.top(board)
    return render(
        request,
        "referrals/leaderboards/my_rank.html",
        {
            "shops": shops,
            "shop": shop,
            "groups": groups,
            "group": group,
            "board": board,
            "rows": rows,
            "rank_rows": rank_rows(rows, me_id=request.user.pk, money=board.is_money),
            "mine": mine,
            "size": size,
            "metrics": Metric.choices,
            "title": lb.describe(board, getattr(group, "name", "")),
            "periods": [(p, label) for p, label in Period.choices if p != Period.CUSTOM],
        },
    )


def rank_rows(rows, *, me_id: int, money: bool) -> str:
    """The top rows as list items, built here rather than by a template loop: 50 rows were most of the
    page's rendering time (a template resolves and localizes every value of every row)."""
    me = format_html(' <span class="badge badge-active">{}</span>', _("我"))
    prefix = "¥" if money else ""
    return format_html_join(
        "\n",
        '<li{}><span class="rank-no">{}</span><span class="rank-name">{}{}</span>'
        '<span class="rank-value">{}{}</span></li>',
        (
            (
                mark_safe(' class="me"') if row.user_id == me_id else "",
                row.rank,
                row.name,
                me if row.user_id == me_id else "",
                prefix,
                row.value,
            )
            for row in rows
        ),
    )


# --- Operators: their own shop ------------------------------------------------------------------------


def _rows_with_links(rows, link):
    return [(row, link(row.user_id)) for row in rows]


def _title(form: BoardForm, board) -> str:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    chosen = data.get("group") if board.scope == "group" else data.get("series") if board.scope == "series" else None
    return lb.describe(board, getattr(chosen, "name", ""))


@operator_required(VIEWER)
@require_GET
def board_page(request):
    form = BoardForm(request.GET or None, shop=request.shop)
    board = form.board()
    rows = lb.top(board)
    return render(
        request,
        "referrals/leaderboards/dashboard.html",
        {
            "form": form,
            "board": board,
            "size": lb.size(board),
            "title": _title(form, board),
            "rows": _rows_with_links(rows, lambda uid: reverse("dashboard:leaderboard_member", args=[uid])),
            "export_url": reverse("dashboard:leaderboard_export") + "?" + form.query(),
            "rebuild_url": reverse("dashboard:leaderboard_rebuild"),
            "can_write": request.operator.can(OPERATOR),
            "query": form.query(),
        },
    )


@operator_required(VIEWER)
@require_GET
def board_export(request):
    board = BoardForm(request.GET or None, shop=request.shop).board()
    return _csv_response(board, request.shop)


@operator_required(OPERATOR)
@require_POST
def board_rebuild(request):
    form = BoardForm(request.POST, shop=request.shop)
    return _rebuild(request, form, reverse("dashboard:leaderboards"))


@operator_required(VIEWER)
@require_GET
def board_member(request, user_id: int):
    return _member_page(request, request.shop, user_id, back=reverse("dashboard:leaderboards"))


# --- Platform admins: every shop -------------------------------------------------------------------------


def _platform_shop(data) -> Shop | None:
    form = PlatformShopForm(data or None)
    if form.is_bound and form.is_valid() and form.cleaned_data["shop"]:
        return form.cleaned_data["shop"]
    return Shop.objects.order_by("name", "pk").first()


@staff_required
@require_GET
def platform_boards(request):
    shop = _platform_shop(request.GET)
    if shop is None:
        return render(request, "referrals/leaderboards/platform.html", {"shop": None})
    form = BoardForm(request.GET or None, shop=shop)
    board = form.board()
    query = form.query() or f"shop={shop.pk}"
    return render(
        request,
        "referrals/leaderboards/platform.html",
        {
            "shop": shop,
            "shop_form": PlatformShopForm(initial={"shop": shop}),
            "form": form,
            "board": board,
            "size": lb.size(board),
            "title": f"{shop.name} · {_title(form, board)}",
            "rows": _rows_with_links(lb.top(board), lambda uid: reverse("platform:member", args=[shop.pk, uid])),
            "export_url": reverse("platform:leaderboard_export") + "?" + query,
            "rebuild_url": reverse("platform:leaderboard_rebuild"),
            "can_write": True,
            "query": query,
        },
    )


@staff_required
@require_GET
def platform_export(request):
    shop = _platform_shop(request.GET)
    if shop is None:
        raise Http404
    return _csv_response(BoardForm(request.GET or None, shop=shop).board(), shop)


@staff_required
@require_POST
def platform_rebuild(request):
    shop = _platform_shop(request.POST)
    if shop is None:
        raise Http404
    return _rebuild(request, BoardForm(request.POST, shop=shop), reverse("platform:leaderboards"))


@staff_required
@require_GET
def platform_member(request, shop_id: int, user_id: int):
    shop = get_object_or_404(Shop, pk=shop_id)
    return _member_page(request, shop, user_id, back=reverse("platform:leaderboards") + f"?shop={shop.pk}")


# --- Shared ----------------------------------------------------------------------------------------


def _rebuild(request, form: BoardForm, back: str):
    board = form.board()
    try:
        size = lb.rebuild(board, wait=5)
    except lb.BoardBusy:
        messages.error(request, _("这个榜单正在重建，请稍后再试。"))
    else:
        messages.success(request, _("已从数据库重建榜单，共 %(n)d 人上榜。") % {"n": size})
    query = request.POST.copy()
    query.pop("csrfmiddlewaretoken", None)
    return redirect(back + "?" + query.urlencode())


def _member_page(request, shop: Shop, user_id: int, *, back: str):
    if not lb.knows_member(shop_id=shop.pk, user_id=user_id):
        raise Http404
    member = get_object_or_404(User, pk=user_id)
    events = Paginator(lb.member_events(shop_id=shop.pk, user_id=user_id), PAGE_SIZE).get_page(request.GET.get("page"))
    ranks = []
    for metric, label in Metric.choices:
        board = lb.Board.of(shop_id=shop.pk, metric=metric)
        mine, size = lb.rank_of(board, user_id)
        ranks.append((label, mine, size))
    return render(
        request,
        "referrals/leaderboards/member.html",
        {
            "shop": shop,
            "member": member,
            "events": events,
            "ranks": ranks,
            "back": back,
            "tree": selectors.referral_tree(member, shop=shop, depth=2, limit=TREE_LIMIT),
        },
    )


def _safe_cell(value) -> str:
    """Keep spreadsheet apps from running a cell as a formula (a nickname may start with '=')."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_response(board, shop: Shop) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="leaderboard-{shop.slug}-{board.metric}-{stamp}.csv"'
    response.write("\ufeff")  # the BOM tells Excel the file is UTF-8
    writer = csv.writer(response)
    writer.writerow([_("店铺"), _("排名"), _("成员编号"), _("成员"), _("数值"), _("达成时间")])
    for row in lb.top(board, EXPORT_LIMIT):
        writer.writerow(
            [
                _safe_cell(shop.name),
                row.rank,
                row.user_id,
                _safe_cell(row.name),
                row.value,
                timezone.localtime(row.reached_at).strftime("%Y-%m-%d %H:%M:%S"),
            ]
        )
    return response
