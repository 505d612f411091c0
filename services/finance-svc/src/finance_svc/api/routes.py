"""HTTP endpoints of finance-svc (the service's domain is built in its own issue)."""

from fastapi import APIRouter

router = APIRouter(prefix="/finance", tags=["finance"])
