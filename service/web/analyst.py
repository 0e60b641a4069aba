"""The analyst's pages: project overview, runs, hits, a hit's explanation, suspects, quality."""

from service.run_access import ANALYSTS
from service.web.areas import Area, page_router

router = page_router("analyst")
AREA = Area(
    "analyst",
    router,
    project_pages=dict.fromkeys(ANALYSTS, "/app/analyst/projects/{project_id}"),
)
