"""HTTP endpoints of outcomes-svc (the service's domain is built in its own issue)."""

from fastapi import APIRouter

router = APIRouter(prefix="/outcomes", tags=["outcomes"])
