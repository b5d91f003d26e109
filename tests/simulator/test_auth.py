"""Seraph-like authentication and licence enforcement."""

from __future__ import annotations

from tests.simulator.conftest import ADMIN, basic, form_login, license_user, sim_state, state


async def test_form_login_of_licensed_user_sets_session_and_remember_me(jira) -> None:
    await license_user(jira, "alice")
    response = await form_login(jira, "alice", remember=True, destination="/browse/ABC-1")
    assert response.status == 302 and response.headers["Location"] == "/browse/ABC-1"
    assert response.headers["X-Seraph-LoginReason"] == "OK"
    assert response.headers["X-AUSERNAME"] == "alice"
    cookies = response.headers.getall("Set-Cookie")
    assert any(c.startswith("JSESSIONID=") for c in cookies)
    assert any(c.startswith("seraph.rememberme.cookie=") and "Max-Age=1209600" in c for c in cookies)
    page = await jira.get("/browse/ABC-1")
    assert page.status == 200 and page.headers["X-AUSERNAME"] == "alice"
    assert "X-Seraph-LoginReason" not in page.headers  # a session request is not a login


async def test_form_login_refusals(jira) -> None:
    wrong = await form_login(jira, "alice", password="nope")
    assert wrong.status == 200 and wrong.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert "incorrect" in await wrong.text()
    unlicensed = await form_login(jira, "alice")
    assert unlicensed.status == 200
    assert unlicensed.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    assert unlicensed.headers["X-AUSERNAME"] == "anonymous"
    assert "You do not have a permission to log in" in await unlicensed.text()
    assert not [c for c in unlicensed.headers.getall("Set-Cookie", []) if c.startswith("JSESSIONID=")]
    # Treated as anonymous afterwards: pages redirect to the login form with os_destination.
    page = await jira.get("/secure/Dashboard.jspa", allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"] == "/login.jsp?os_destination=%2Fsecure%2FDashboard.jspa"


async def test_remember_me_relogin_and_its_deletion_when_unlicensed(make_client) -> None:
    client = await make_client(product="jira")
    await license_user(client, "bob")
    login = await form_login(client, "bob", remember=True)
    assert login.status == 302
    remember = login.cookies["seraph.rememberme.cookie"].value
    client.session.cookie_jar.clear()

    # Licensed: the remember-me cookie silently logs bob in again, with a new session.
    cookie = {"Cookie": f"seraph.rememberme.cookie={remember}"}
    again = await client.get("/rest/api/2/myself", headers=cookie)
    assert again.status == 200 and again.headers["X-AUSERNAME"] == "bob"
    assert again.headers["X-Seraph-LoginReason"] == "OK"
    assert any(c.startswith("JSESSIONID=") for c in again.headers.getall("Set-Cookie"))
    client.session.cookie_jar.clear()

    # Unlicensed: refused at the re-login and the remember-me cookie is deleted.
    await client.post("/__sim/members", json={"remove": ["bob"]})
    refused = await client.get("/rest/api/2/myself", headers=cookie)
    assert refused.status == 401
    assert refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    assert refused.headers["X-AUSERNAME"] == "anonymous"
    deletions = [c for c in refused.headers.getall("Set-Cookie") if c.startswith("seraph.rememberme.cookie=;")]
    assert deletions and "Max-Age=0" in deletions[0]
    assert remember not in state(client).remember_me  # gone server-side too
    client.session.cookie_jar.clear()
    page = await client.get("/secure/Dashboard.jspa", headers=cookie, allow_redirects=False)
    assert page.status == 302  # an unknown remember-me cookie is anonymous


async def test_session_of_user_who_lost_the_licence_gets_no_access_page(jira) -> None:
    await license_user(jira, "carol")
    assert (await form_login(jira, "carol")).status == 302
    await jira.post("/__sim/members", json={"remove": ["carol"]})
    page = await jira.get("/secure/Dashboard.jspa", allow_redirects=False)
    assert page.status == 403 and 'id="no-access"' in await page.text()
    assert page.headers["X-AUSERNAME"] == "carol"
    rest = await jira.get("/rest/api/2/myself")
    assert rest.status == 403
    records = (await sim_state(jira))["requests"]
    assert records[-1]["user"] == "carol" and records[-1]["licensed"] is False


async def test_basic_auth(jira) -> None:
    assert (await jira.get("/rest/api/2/myself", headers=basic("alice", "bad"))).headers[
        "X-Seraph-LoginReason"
    ] == "AUTHENTICATED_FAILED"
    wrong = await jira.get("/rest/api/2/myself", headers=basic("alice", "bad"))
    assert wrong.status == 401 and "WWW-Authenticate" in wrong.headers
    refused = await jira.get("/rest/api/2/myself", headers=basic("alice"))
    assert refused.status == 401 and refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    ok = await jira.get("/rest/api/2/myself", headers=ADMIN)
    assert ok.status == 200 and ok.headers["X-Seraph-LoginReason"] == "OK"
    assert (await ok.json())["name"] == "admin"
    # As on the products, Basic opens an HTTP session (a cookie-keeping client sends both next).
    assert [c for c in ok.headers.getall("Set-Cookie", []) if c.startswith("JSESSIONID")]
    assert len(state(jira).sessions) == 1
    jira.session.cookie_jar.clear()
    assert (await jira.get("/rest/api/2/myself")).status == 401


async def test_rest_session_login_logout_and_gadget_login(jira) -> None:
    await license_user(jira, "dave")
    bad = await jira.post("/rest/auth/1/session", json={"username": "dave", "password": "x"})
    assert bad.status == 401 and bad.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    refused = await jira.post("/rest/auth/1/session", json={"username": "erin", "password": "erin"})
    assert refused.status == 401 and refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    ok = await jira.post("/rest/auth/1/session", json={"username": "dave", "password": "dave"})
    body = await ok.json()
    assert ok.status == 200 and body["session"]["name"] == "JSESSIONID"
    assert body["session"]["value"] in state(jira).sessions
    current = await jira.get("/rest/auth/1/session")
    assert current.status == 200 and (await current.json())["name"] == "dave"
    assert (await jira.delete("/rest/auth/1/session")).status == 204
    assert (await jira.get("/rest/auth/1/session")).status == 401

    gadget = await jira.post("/rest/gadget/1.0/login", data={"os_username": "erin", "os_password": "erin"})
    assert gadget.status == 200 and gadget.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    assert (await gadget.json())["loginFailedByPermissions"] is True
    gadget = await jira.post("/rest/gadget/1.0/login", data={"os_username": "erin", "os_password": "no"})
    assert gadget.status == 200 and (await gadget.json())["loginError"] is True
    gadget = await jira.post(
        "/rest/gadget/1.0/login", data={"os_username": "dave", "os_password": "dave", "os_cookie": "true"}
    )
    assert (await gadget.json())["loginSucceeded"] is True
    assert "seraph.rememberme.cookie" in gadget.cookies


async def test_page_logout(jira) -> None:
    await license_user(jira, "alice")
    await form_login(jira, "alice", remember=True)
    out = await jira.get("/secure/Logout!default.jspa", allow_redirects=False)
    assert out.status == 302 and out.headers["X-Seraph-LoginReason"] == "OUT"
    assert not state(jira).sessions and not state(jira).remember_me


async def test_bearer_pat(jira) -> None:
    await license_user(jira, "alice")
    await form_login(jira, "alice")
    created = await jira.post("/rest/pat/latest/tokens", json={"name": "ci", "expirationDuration": 90})
    assert created.status == 201
    body = await created.json()
    raw = body["rawToken"]
    assert body["name"] == "ci" and body["expiringAt"]
    listed = await (await jira.get("/rest/pat/latest/tokens")).json()
    assert listed and "rawToken" not in listed[0]  # shown once only
    jira.session.cookie_jar.clear()
    sessions_before = len(state(jira).sessions)
    bearer = {"Authorization": f"Bearer {raw}"}
    me = await jira.get("/rest/api/2/myself", headers=bearer)
    assert me.status == 200 and me.headers["X-AUSERNAME"] == "alice"
    assert len(state(jira).sessions) == sessions_before + 1  # a PAT request opens a session too
    jira.session.cookie_jar.clear()
    # An invalid token is served the anonymous view (not a 401 of its own).
    anon = await jira.get("/status", headers={"Authorization": "Bearer nonsense"})
    assert anon.status == 200 and anon.headers["X-AUSERNAME"] == "anonymous"
    assert (await jira.get("/rest/api/2/myself", headers={"Authorization": "Bearer nonsense"})).status == 401
    # Token of a user who lost the licence: refused like Basic.
    await jira.post("/__sim/members", json={"remove": ["alice"]})
    refused = await jira.get("/rest/api/2/myself", headers=bearer)
    assert refused.status == 401 and refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"


async def test_pat_creation_needs_a_user_and_a_name(jira) -> None:
    assert (await jira.post("/rest/pat/latest/tokens", json={"name": "x"})).status == 401
    assert (await jira.post("/rest/pat/latest/tokens", json={}, headers=ADMIN)).status == 400
    bad_days = await jira.post("/rest/pat/latest/tokens", json={"name": "x", "expirationDuration": 0}, headers=ADMIN)
    assert bad_days.status == 400


async def test_oauth_app_link_impersonation(jira) -> None:
    await license_user(jira, "bob")
    header = {
        "Authorization": 'OAuth oauth_consumer_key="confluence", oauth_token="", '
        'xoauth_requestor_id="bob", oauth_signature="not-checked"'
    }
    ok = await jira.get("/rest/api/2/myself", headers=header)
    assert ok.status == 200 and ok.headers["X-AUSERNAME"] == "bob"
    query = await jira.get("/rest/api/2/myself?xoauth_requestor_id=bob&oauth_consumer_key=c")
    assert query.status == 200 and (await query.json())["name"] == "bob"
    refused = await jira.get("/rest/api/2/myself?xoauth_requestor_id=carol")
    assert refused.status == 401 and refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    unknown = await jira.get("/rest/api/2/myself?xoauth_requestor_id=nobody")
    assert unknown.status == 401
    records = (await sim_state(jira))["requests"]
    assert [r["via"] for r in records[-4:]] == ["oauth"] * 3 + ["anonymous"]


async def test_identity_headers_on_every_response(jira, confluence) -> None:
    for client in (jira, confluence):
        for path in ("/status", "/no/such/path", "/favicon.ico", "/rest/api/2/myself"):
            response = await client.get(path, allow_redirects=False)
            assert response.headers["X-AUSERNAME"] == "anonymous", path
            assert response.headers["X-ASESSIONID"] and response.headers["X-AREQUESTID"], path
            assert ("X-Confluence-Request-Time" in response.headers) == (client is confluence)


async def test_client_sent_identity_headers_are_ignored(jira) -> None:
    forged = {"X-AUSERNAME": "admin", "X-AUSERID": "admin"}
    response = await jira.get("/rest/api/2/myself", headers=forged)
    assert response.status == 401 and response.headers["X-AUSERNAME"] == "anonymous"
    admin_call = await jira.post(
        "/rest/api/2/group/user?groupname=jira-software-users", json={"name": "alice"}, headers=forged
    )
    assert admin_call.status == 401 and "alice" not in state(jira).groups["jira-software-users"]


async def test_no_ausername_mode_and_runtime_toggle(make_client) -> None:
    client = await make_client(product="confluence", ausername=False)
    response = await client.get("/rest/api/user/current", headers=ADMIN)
    assert response.status == 200 and "X-AUSERNAME" not in response.headers
    assert "X-Confluence-Request-Time" in response.headers
    assert (await client.post("/__sim/config", json={"ausername": True})).status == 200
    response = await client.get("/rest/api/user/current", headers=ADMIN)
    assert response.headers["X-AUSERNAME"] == "admin"


async def test_confluence_login_cookie_names(confluence) -> None:
    await license_user(confluence, "alice")
    response = await form_login(confluence, "alice", remember=True)
    assert response.status == 302 and response.headers["Location"] == "/index.action"
    assert "seraph.confluence" in response.cookies
    me = await confluence.get("/rest/api/user/current")
    assert (await me.json())["username"] == "alice"
    confluence.session.cookie_jar.clear()
    refused = await form_login(confluence, "bob")
    assert refused.headers["X-Seraph-LoginReason"] == "AUTHORISATION_FAILED"
    anonymous = await confluence.get("/index.action", allow_redirects=False)
    assert anonymous.status == 302
    assert anonymous.headers["Location"] == "/login.action?os_destination=%2Findex.action&permissionViolation=true"
