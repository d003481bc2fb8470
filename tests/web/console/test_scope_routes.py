"""Every route of the console, asked by a Raipur nodal officer, over HTTP: none gives away anything of Lucknow.

The table below names a request for each route the console has; a route added without a line here
fails `test_every_console_route_is_in_the_table`, so no page, export or API escapes the check.
"""

from __future__ import annotations

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from bot.db import session_scope
from bot.models import CannedAnswer
from bot.records.importer import import_report
from bot.tickets.staff import add_staff
from bot.web.console.app import staff_console
from tests.web.console.helpers import PASSWORD, csrf_of, post_form, staff_client
from tests.web.console.nodal import (
    RAIPUR_ROWS,
    STATE_REPORT,
    finished,
    report_csv,
    upload,
    without_lucknow,
)

# (method, route path, the request's path, status for the Raipur officer); {lucknow_job} and {raipur_job}
# are imports of the Lucknow officer and of the Raipur officer; {ref} a ticket of a Lucknow employee;
# the campaign `lko` is the Lucknow officer's.
REQUESTS = [
    ("GET", "/", "/staff/", 303),
    ("GET", "/login", "/staff/login", 200),
    ("POST", "/login", "/staff/login", 303),
    ("POST", "/logout", "/staff/logout", 303),
    ("GET", "/tickets/{ref}", "/staff/tickets/{ref}", 403),
    ("POST", "/tickets/{ref}/insert", "/staff/tickets/{ref}/insert", 403),
    ("POST", "/tickets/{ref}/{action}", "/staff/tickets/{ref}/claim", 403),
    ("POST", "/tickets/{ref}/replies/{outbox_id:int}/{how}", "/staff/tickets/{ref}/replies/1/retry", 403),
    ("GET", "/tickets/{ref}/files/{line_id:int}", "/staff/tickets/{ref}/files/1", 403),
    ("GET", "/tickets", "/staff/tickets?q=Lucknow", 403),
    ("GET", "/canned", "/staff/canned", 403),
    ("POST", "/canned", "/staff/canned", 403),
    ("GET", "/canned/{canned_id:int}", "/staff/canned/{canned}", 403),
    ("POST", "/canned/{canned_id:int}", "/staff/canned/{canned}", 403),
    ("POST", "/canned/{canned_id:int}/delete", "/staff/canned/{canned}/delete", 403),
    ("GET", "/gaps", "/staff/gaps", 403),
    ("GET", "/knowledge/new", "/staff/knowledge/new", 403),
    ("POST", "/knowledge/new", "/staff/knowledge/new", 403),
    ("POST", "/knowledge/{change_id:int}/revert", "/staff/knowledge/1/revert", 403),
    ("GET", "/insights", "/staff/insights", 403),
    ("GET", "/insights.csv", "/staff/insights.csv", 403),
    ("GET", "/reports", "/staff/reports?by=district&district=Lucknow", 200),
    ("GET", "/reports/pending", "/staff/reports/pending?by=department&group=Nagar+Nigam", 200),
    ("GET", "/reports/completion.csv", "/staff/reports/completion.csv?by=course&department=Nagar+Nigam", 200),
    ("GET", "/reports/pending.csv", "/staff/reports/pending.csv?by=course&group=Course+L+only", 200),
    ("GET", "/imports", "/staff/imports", 200),
    ("POST", "/imports", "/staff/imports", 303),
    ("GET", "/imports/{job_id:int}", "/staff/imports/{lucknow_job}", 404),
    ("GET", "/imports/{job_id:int}/status.json", "/staff/imports/{lucknow_job}/status.json", 404),
    ("GET", "/imports/{job_id:int}/rejects.csv", "/staff/imports/{lucknow_job}/rejects.csv", 404),
    ("GET", "/campaigns", "/staff/campaigns", 200),
    ("POST", "/campaign-preview", "/staff/campaign-preview", 200),
    ("POST", "/campaigns", "/staff/campaigns", 303),
    ("GET", "/campaigns/{campaign_id:str}", "/staff/campaigns/lko", 404),
    ("POST", "/campaigns/{campaign_id:str}", "/staff/campaigns/lko", 404),
    ("GET", "/campaigns/{campaign_id:str}/preview", "/staff/campaigns/lko/preview", 404),
    ("POST", "/campaigns/{campaign_id:str}/{action:str}", "/staff/campaigns/lko/pause", 404),
    ("GET", "/account", "/staff/account", 200),
    ("POST", "/account/language", "/staff/account/language", 303),
    ("POST", "/account/password", "/staff/account/password", 422),
    ("GET", "/accounts", "/staff/accounts", 403),
    ("POST", "/accounts", "/staff/accounts", 403),
    ("POST", "/accounts/{name}/{switch:str}", "/staff/accounts/lucknow/disable", 403),
]
# The Raipur officer's own import (a row of theirs rejected), which they may see.
CAMPAIGN = {"name": "Lucknow drive", "districts": "", "every": "weekly", "message_en": "Hi {name}",
            "message_hi": "नमस्ते {name}", "pending_mandatory": "1"}  # fmt: skip
OWN = [
    ("/staff/imports/{raipur_job}", 200),
    ("/staff/imports/{raipur_job}/status.json", 200),
    ("/staff/imports/{raipur_job}/rejects.csv", 200),
    ("/staff/campaigns/raipur-drive", 200),
    ("/staff/campaigns/raipur-drive/preview", 200),
]


@pytest.fixture
def world(app, db_engine, other_roles, tmp_path):
    """The state's report (imported by an administrator), a Lucknow officer's import of the state report
    (whose rejects are Raipur's rows), the Raipur officer's import of a report with a bad row, a canned
    answer, and a ticket; the values for the table's placeholders."""
    path = tmp_path / "state.csv"
    path.write_bytes(STATE_REPORT)
    import_report(db_engine, path)
    with session_scope(db_engine) as session:
        add_staff(session, name="lucknow", password=PASSWORD, role="nodal", districts=["Lucknow"])
        canned = CannedAnswer(title="Lucknow camp dates", text_en="Lucknow", text_hi="लखनऊ", updated_by="desk1")
        session.add(canned)
        session.flush()
        canned_id = canned.id
    lucknow = staff_client(app, "lucknow")
    lucknow_job = upload(lucknow, STATE_REPORT).headers["location"]
    assert finished(lucknow, lucknow_job)["rejected"] == 5
    raipur = staff_client(app, "raipur")
    bad_phone = [*RAIPUR_ROWS[0][:1], "123", *RAIPUR_ROWS[0][2:]]
    raipur_job = upload(raipur, report_csv([RAIPUR_ROWS[0], bad_phone])).headers["location"]
    finished(raipur, raipur_job)
    lucknow_campaign = post_form(lucknow, "/staff/campaigns", "/staff/campaigns", **CAMPAIGN, id="lko")
    assert lucknow_campaign.status_code == 303, lucknow_campaign.text
    number = lambda job: job.rsplit("/", 1)[1]  # noqa: E731
    return {"lucknow_job": number(lucknow_job), "raipur_job": number(raipur_job), "canned": str(canned_id),
            "ref": "HD-000001"}  # fmt: skip


def test_every_console_route_is_in_the_table(db_engine, settings):
    console = staff_console(settings=settings, db=db_engine, brain=lambda: None)
    routes = {(method, route.path) for route in console.routes if isinstance(route, Route)
              for method in route.methods or () if method != "HEAD"}  # fmt: skip
    assert routes == {(method, route) for method, route, _, _ in REQUESTS}
    assert [route.path for route in console.routes if isinstance(route, Mount)] == ["/static"]


def form_for(client: TestClient, route: str) -> dict[str, str]:
    """What a browser would post to this route, with the session's token."""
    token = csrf_of(client.get("/staff/account").text)
    fields = {"csrf_token": token}
    if route == "/login":
        fields |= {"name": "raipur", "password": PASSWORD}
    if route == "/account/language":
        fields |= {"lang": "hi"}
    if route == "/account/password":
        fields |= {"current_password": "wrong one!!", "new_password": "a new long one", "repeat_password": "other"}
    if route in ("/canned", "/canned/{canned_id:int}"):
        fields |= {"title": "Lucknow", "text_en": "x", "text_hi": "y"}
    if route.startswith(("/campaigns", "/campaign-preview")) and not route.endswith("{action:str}"):
        fields |= {**CAMPAIGN, "name": "Raipur drive", "id": "raipur-drive"}
    if route == "/accounts":
        fields |= {"name": "lucknow2", "role": "admin", "districts": "Lucknow", "password": "a long password"}
    return fields


def test_no_route_shows_a_raipur_officer_anything_of_lucknow(app, world, user_ticket):
    for method, route, path, status in REQUESTS:  # one world for all: building it imports three times
        raipur = staff_client(app, "raipur")
        path = path.format(**world)
        if route == "/imports" and method == "POST":
            response = upload(raipur, report_csv(RAIPUR_ROWS))
            finished(raipur, response.headers["location"])
        elif method == "POST":
            response = raipur.post(path, data=form_for(raipur, route), follow_redirects=False)
        else:
            response = raipur.get(path, follow_redirects=False)
        assert response.status_code == status, (method, path, response.text)
        text = response.text
        if route == "/reports/pending":  # the page names the group asked for: the officer's own words
            text = text.replace("Nagar Nigam", "").replace("Nagar+Nigam", "")
        assert without_lucknow(text), (method, path, text)
        if response.status_code == 303 and response.headers["location"].startswith("/staff/"):
            assert without_lucknow(raipur.get(response.headers["location"]).text), (method, path)
    for path, status in OWN:
        response = staff_client(app, "raipur").get(path.format(**world))
        assert response.status_code == status and without_lucknow(response.text), path
    # What the Lucknow officer's import rejected (Raipur's rows) is there, for them and the administrators.
    assert (
        "District 'Raipur'" in staff_client(app, "boss").get(f"/staff/imports/{world['lucknow_job']}/rejects.csv").text
    )
