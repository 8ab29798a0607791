"""Small helpers shared by the resource routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from ..errors import Invalid, NotFound
from ..models import Membership

T = TypeVar("T")


def related(fetch: Callable[[Membership, Any], T], member: Membership, object_id: Any, field: str) -> T:
    """An object named in a request body, fetched through its access helper.

    A body that points at something missing (or of another shop) is an invalid input, not a missing
    resource: 422 naming the field, never 404.
    """
    try:
        return fetch(member, object_id)
    except NotFound:
        raise Invalid(
            _("%(field)s: no such object (id %(id)s).") % {"field": field, "id": object_id},
            fields={field: [_("Unknown id %(id)s.") % {"id": object_id}]},
        ) from None
