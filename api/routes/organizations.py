"""Organizations of the exchange and their API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.deps import AdminDep, RuntimeDep, SessionDep, StaffDep, ViewerDep, forbid_unknown_query, require_key
from api.errors import COMMON_ERRORS, error_responses
from api.params import IdPath, LimitQuery, OffsetQuery
from api.runtime import Runtime
from api.schemas.common import Page
from api.schemas.organizations import (
    ApiKeyCreate,
    ApiKeyCreated,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
)
from api.webhook_targets import url_problem
from core.access import Viewer, can_write, key_problem
from core.taxonomy import OrgKind
from models import organizations as organization_service
from models.errors import ForbiddenError, InvalidError
from models.organizations import Organization

router = APIRouter(dependencies=[Depends(forbid_unknown_query)], responses=COMMON_ERRORS)


def public_view(organization: Organization, viewer: Viewer) -> OrganizationRead:
    """Webhook addresses are operational secrets: only staff and the organization itself see them."""
    read = OrganizationRead.model_validate(organization)
    if not can_write(viewer, organization_id=organization.id):
        read.webhook_url = None
    return read


@router.get("/organizations", response_model=Page[OrganizationRead], summary="List organizations")
def list_organizations(
    session: SessionDep,
    viewer: ViewerDep,
    kind: OrgKind | None = None,
    offset: OffsetQuery = 0,
    limit: LimitQuery = 20,
) -> dict[str, Any]:
    rows, total = organization_service.list_organizations(
        session=session, kind=kind, offset=offset, limit=limit
    )
    return {
        "items": [public_view(row, viewer) for row in rows],
        "total": total,
        "offset": offset,
        "limit": limit,
    }


def check_webhook(url: str | None, runtime: Runtime) -> None:
    """Webhooks to the service's own network are refused when set (names are checked when sending)."""
    problem = url and url_problem(url, runtime.settings.webhook_allowed_networks)
    if problem:
        raise InvalidError(f"webhook_url: {problem}.")


@router.post(
    "/organizations",
    response_model=OrganizationRead,
    status_code=201,
    summary="Register an organization",
    responses=error_responses(400, 403, 409, 413),
)
def create_organization(
    body: OrganizationCreate, session: SessionDep, viewer: StaffDep, runtime: RuntimeDep
) -> OrganizationRead:
    check_webhook(body.webhook_url, runtime)
    organization = organization_service.create_organization(session=session, values=body.model_dump())
    session.commit()
    return public_view(organization, viewer)


@router.get(
    "/organizations/{organization_id}",
    response_model=OrganizationRead,
    summary="Read an organization",
    responses=error_responses(404),
)
def read_organization(organization_id: IdPath, session: SessionDep, viewer: ViewerDep) -> OrganizationRead:
    organization = organization_service.get_organization(session=session, organization_id=organization_id)
    return public_view(organization, viewer)


@router.patch(
    "/organizations/{organization_id}",
    response_model=OrganizationRead,
    summary="Change an organization",
    responses=error_responses(400, 403, 404, 413),
)
def update_organization(
    organization_id: IdPath,
    body: OrganizationUpdate,
    session: SessionDep,
    viewer: ViewerDep,
    runtime: RuntimeDep,
) -> OrganizationRead:
    require_key(viewer)
    check_webhook(body.webhook_url, runtime)
    organization = organization_service.get_organization(session=session, organization_id=organization_id)
    if not can_write(viewer, organization_id=organization_id):
        raise ForbiddenError("Only the organization's own members or staff may change it.")
    organization_service.update_organization(
        session=session, organization=organization, values=body.model_dump(exclude_unset=True)
    )
    session.commit()
    runtime.views.forget_organizations([organization_id])
    return public_view(organization, viewer)


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    summary="Issue an API key (admin)",
    responses=error_responses(400, 403, 404, 413),
)
def create_api_key(body: ApiKeyCreate, session: SessionDep, _admin: AdminDep) -> ApiKeyCreated:
    organization = (
        None
        if body.organization_id is None
        else organization_service.get_organization(session=session, organization_id=body.organization_id)
    )
    problem = key_problem(body.role, organization.kind if organization else None)
    if problem:
        raise InvalidError(problem)
    api_key, raw_key = organization_service.create_api_key(
        session=session, role=body.role, name=body.name, organization_id=body.organization_id
    )
    session.commit()
    return ApiKeyCreated(
        id=api_key.id,
        name=api_key.name,
        role=api_key.role,
        organization_id=api_key.organization_id,
        key=raw_key,
    )
