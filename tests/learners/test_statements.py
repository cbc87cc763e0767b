"""The learner and programme pages send as many statements for 30 learners as for 3."""

from __future__ import annotations

import itertools

from crm.auth.models import Role
from tests.core.helpers import text
from tests.factories import make_cohort, make_learner, make_programme, make_user


class School:
    """Learners spread over programmes, cohorts and officers."""

    def __init__(self, officers, manager) -> None:
        self.officers = officers
        self.programmes = [
            make_programme(manager, name=f"Programme {n}", code=f"P-{n}") for n in range(3)
        ]
        self.cohorts = [make_cohort(p, manager, year=2027) for p in self.programmes]
        self.first = make_learner(officers[0], self.programmes[0], support_needs="Private")
        self.size = 1
        self._n = itertools.count()

    def grow_to(self, size: int) -> None:
        while self.size < size:
            n = next(self._n)
            make_learner(
                self.officers[n % len(self.officers)],
                self.programmes[n % 3],
                self.cohorts[n % 3],
                first_name=f"Learner{n}",
                last_name=f"Müller{n}",
                support_needs=f"Private note {n}",
            )
            self.size += 1


def statements(client, count_statements, urls: dict[str, str]) -> dict[str, int]:
    counts = {}
    for name, url in urls.items():
        with count_statements() as counter:
            response = client.get(url)
        assert response.status_code == 200, (url, text(response)[:500])
        counts[name] = counter.count
    return counts


def test_statement_counts_do_not_grow_with_the_data(
    ctx, login_as, officer, manager, count_statements
):
    colleague = make_user(Role.OFFICER, name="Colin Colleague")
    school = School([officer, colleague], manager)
    client = login_as(manager)
    programme = school.programmes[0]
    urls = {
        "list": "/learners/",
        "search": "/learners/?q=muller",
        "filtered": f"/learners/?programme={programme.id}&cohort={school.cohorts[0].id}"
        f"&officer={officer.id}",
        "export": "/learners/export.csv",
        "programmes": "/programmes/",
        "programme": f"/programmes/{programme.id}",
        "new learner": "/learners/new",
        "learner": f"/learners/{school.first.id}",
    }

    school.grow_to(3)
    small = statements(client, count_statements, urls)
    assert "Showing 1–3 of 3" in text(client.get("/learners/"))

    school.grow_to(30)
    large = statements(client, count_statements, urls)
    assert "Showing 1–30 of 30" in text(client.get("/learners/"))
    assert text(client.get("/learners/export.csv")).count("\r\n") == 31

    assert large == small
    assert small["list"] <= 8, small
