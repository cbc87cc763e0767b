"""Every model module, imported in one place so that the metadata (and Alembic) sees all tables."""

from crm.activities import models as activities  # noqa: F401
from crm.agreements import models as agreements  # noqa: F401
from crm.auth import models as auth  # noqa: F401
from crm.contacts import models as contacts  # noqa: F401
from crm.dashboard import models as dashboard  # noqa: F401
from crm.evaluations import models as evaluations  # noqa: F401
from crm.followups import models as followups  # noqa: F401
from crm.health import models as health  # noqa: F401
from crm.health import stale  # noqa: F401  (marks health scores stale when their inputs change)
from crm.learners import models as learners  # noqa: F401
from crm.links import models as links  # noqa: F401
from crm.organisations import models as organisations  # noqa: F401
from crm.outbox import models as outbox  # noqa: F401
from crm.partnerships import models as partnerships  # noqa: F401
from crm.placements import models as placements  # noqa: F401
from crm.workflow import models as workflow  # noqa: F401
