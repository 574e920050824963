"""Pages for everyone: the home page with its search box."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from web.i18n import N_
from web.pages import PageDep, add_nav_link, render

router = APIRouter()

add_nav_link("/", N_("Search"), order=0)


@router.get("/")
def home(page: PageDep) -> Response:
    return render(page, "home.html", q="", kind="offers")
