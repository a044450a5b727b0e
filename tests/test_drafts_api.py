"""The drafts JSON API: same auth as the queue API, and rights gating (409) for ready and hand-off."""

from __future__ import annotations

from campaign_worker.publish.drafts import compose
from campaign_worker.publish.rights import record
from campaign_worker.store.db import transaction

from .helpers import post
from .test_drafts import approve, drafts_of
from .web_support import add_accounts, make_client, signed_in


def _drafts(ws, author):
    approve(ws, [post(1, "Erster Tag in der Ausbildung zur Tischlerin bei uns in Siegen!", author=author)])
    compose(ws, ["siegen"])
    add_accounts(ws)
    return drafts_of(ws)


def test_reading_needs_a_session_and_changing_the_role_and_token(sqlite_workspace):
    draft = _drafts(sqlite_workspace, "datasec_siegen")[0]
    assert make_client(sqlite_workspace).get("/api/drafts").status_code == 401
    viewer, token = signed_in(sqlite_workspace, "viewer")
    listed = viewer.get("/api/drafts?campaign=siegen&limit=2").json()
    assert len(listed["drafts"]) == 2 and listed["next_offset"] == 2
    shown = viewer.get(f"/api/drafts/{draft.id}").json()
    assert shown["status_label"] == "Entwurf" and shown["blocker"] is None and shown["focal"] == [0.5, 0.5]
    assert viewer.post(f"/api/drafts/{draft.id}/status", json={"status": "approved"},
                       headers={"X-CSRF-Token": token}).status_code == 403
    moderator, token = signed_in(sqlite_workspace, "moderator")
    assert moderator.post(f"/api/drafts/{draft.id}/status", json={"status": "approved"}).status_code == 403  # no token
    assert moderator.post(f"/api/drafts/{draft.id}/status", json={"status": "fertig"},
                          headers={"X-CSRF-Token": token}).status_code == 422
    assert moderator.get("/api/drafts/999999").status_code == 404
    assert moderator.get("/api/drafts?campaign=nirgendwo").status_code == 404
    assert moderator.get("/api/drafts?status=x").json()["detail"].startswith("status: erlaubt sind")


def test_a_partners_draft_is_marked_ready_and_handed_over(sqlite_workspace):
    draft = _drafts(sqlite_workspace, "datasec_siegen")[0]
    client, token = signed_in(sqlite_workspace, "moderator")
    assert client.get(f"/api/drafts/{draft.id}/export").status_code == 409  # not ready yet
    response = client.post(f"/api/drafts/{draft.id}/status", json={"status": "approved"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert response.json()["edited_by"] == "moderator"
    handoff = client.get(f"/api/drafts/{draft.id}/export").json()
    assert handoff["id"] == draft.id and handoff["text"] == draft.text and handoff["slot"].endswith("Z")


def test_uncleared_rights_and_missing_consent_answer_409(sqlite_workspace):
    draft = _drafts(sqlite_workspace, "fremde.person")[0]
    client, token = signed_in(sqlite_workspace, "moderator")
    headers = {"X-CSRF-Token": token}
    response = client.post(f"/api/drafts/{draft.id}/status", json={"status": "approved"}, headers=headers)
    assert response.status_code == 409 and "Bildrechte nicht geklärt" in response.json()["detail"]
    assert drafts_of(sqlite_workspace)[0].status == "draft"
    with transaction(sqlite_workspace.engine) as connection:
        record(connection, "siegen", draft.post_id, "maria", status="granted", people=True)
    response = client.post(f"/api/drafts/{draft.id}/status", json={"status": "approved"}, headers=headers)
    assert response.status_code == 409 and "Einwilligung fehlt" in response.json()["detail"]
    with transaction(sqlite_workspace.engine) as connection:
        record(connection, "siegen", draft.post_id, "maria", consent=True)
    assert client.post(f"/api/drafts/{draft.id}/status", json={"status": "approved"}, headers=headers).status_code == 200
    assert client.get(f"/api/drafts/{draft.id}/export").status_code == 200
    with transaction(sqlite_workspace.engine) as connection:
        record(connection, "siegen", draft.post_id, "maria", status="declined")  # withdrawn later
    response = client.get(f"/api/drafts/{draft.id}/export")
    assert response.status_code == 409 and "Bildrechte abgelehnt" in response.json()["detail"]
    assert client.post(f"/api/drafts/{draft.id}/status", json={"status": "discarded"}, headers=headers).status_code == 200
