"""Sign-in and sign-out, the session cookie, CSRF, lockout, the language switch and invitations."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, People, csrf_of, sign_in


def test_home_is_served_in_vietnamese_by_default_and_the_api_is_untouched(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in response.text
    assert "Đăng nhập" in response.text
    assert client.get("/api/v1/offers").json()["total"] == 0
    assert client.get("/api/v1/unknown").json()["error"]["code"] == "not_found"


def test_sign_in_sets_an_httponly_samesite_session_cookie_and_sign_out_ends_it(
    client: TestClient, people: People
) -> None:
    csrf = csrf_of(client, "/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": people.emails["ent-a"], "password": PASSWORD, "next": "/", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tm_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    page = client.get("/").text
    assert "ent-a" in page and "Đăng xuất" in page

    csrf = csrf_of(client)
    response = client.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert "Đăng xuất" not in client.get("/").text


def test_the_session_cookie_is_secure_over_https(client: TestClient, people: People) -> None:
    https = TestClient(client.app, base_url="https://floor.example")
    sign_in(https, people.emails["broker"])
    assert https.cookies.get("tm_session")
    csrf = csrf_of(https, "/sign-in")
    response = https.post(
        "/sign-in",
        data={"email": people.emails["broker"], "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tm_session="))
    assert "Secure" in cookie


def test_a_form_post_without_its_csrf_token_is_refused(client: TestClient, people: People) -> None:
    # Anonymous: the sign-in form itself.
    csrf_of(client, "/sign-in")
    response = client.post("/sign-in", data={"email": people.emails["ent-a"], "password": PASSWORD})
    assert response.status_code == 403
    assert "Biểu mẫu này đã hết hạn" in response.text
    assert client.cookies.get("tm_session") is None
    # A wrong token is no better than none.
    response = client.post(
        "/sign-in", data={"email": people.emails["ent-a"], "password": PASSWORD, "csrf_token": "x" * 43}
    )
    assert response.status_code == 403
    # Signed in: the session's token, not the anonymous cookie's, is the one that counts.
    sign_in(client, people.emails["ent-a"])
    assert client.post("/sign-out", data={}, follow_redirects=False).status_code == 403
    assert client.post("/sign-out", headers={"X-CSRF-Token": "nope"}).status_code == 403
    token = csrf_of(client)
    assert (
        client.post("/sign-out", headers={"X-CSRF-Token": token}, follow_redirects=False).status_code == 303
    )


def test_wrong_password_then_lockout_after_five_failures_in_a_window(
    client: TestClient, people: People
) -> None:
    email = people.emails["inst-a"]
    for _ in range(4):
        csrf = csrf_of(client, "/sign-in")
        response = client.post(
            "/sign-in", data={"email": email, "password": "wrong password", "csrf_token": csrf}
        )
        assert response.status_code == 401
        assert "Email hoặc mật khẩu không đúng" in response.text
    csrf = csrf_of(client, "/sign-in")
    assert (
        client.post(
            "/sign-in", data={"email": email, "password": "still wrong", "csrf_token": csrf}
        ).status_code
        == 401
    )
    # Now even the right password is refused.
    csrf = csrf_of(client, "/sign-in")
    response = client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 423
    assert "bị khoá" in response.text
    assert client.cookies.get("tm_session") is None
    # Other accounts are not affected.
    sign_in(client, people.emails["inst-b"])


def test_unknown_email_fails_like_a_wrong_password(client: TestClient, people: People) -> None:
    csrf = csrf_of(client, "/sign-in")
    response = client.post(
        "/sign-in", data={"email": "nobody@example.vn", "password": PASSWORD, "csrf_token": csrf}
    )
    assert response.status_code == 401


def test_sign_in_returns_to_a_local_page_only(client: TestClient, people: People) -> None:
    for requested, expected in [
        ("/search?q=x", "/search?q=x"),
        ("https://evil.example/", "/"),
        ("//evil", "/"),
    ]:
        csrf = csrf_of(client, "/sign-in")
        response = client.post(
            "/sign-in",
            data={
                "email": people.emails["ent-a"],
                "password": PASSWORD,
                "next": requested,
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_language_switch_is_kept_in_a_cookie_then_in_the_session(client: TestClient, people: People) -> None:
    csrf = csrf_of(client)
    client.post("/language", data={"language": "en", "next": "/", "csrf_token": csrf})
    page = client.get("/").text
    assert '<html lang="en">' in page and "Sign in" in page
    sign_in(client, people.emails["ent-a"])  # the session starts in the visitor's language
    assert '<html lang="en">' in client.get("/").text
    csrf = csrf_of(client)
    client.post("/language", data={"language": "vi", "next": "/", "csrf_token": csrf})
    assert '<html lang="vi">' in client.get("/").text
    csrf = csrf_of(client)
    assert client.post("/language", data={"language": "fr", "csrf_token": csrf}).status_code == 422


def test_admin_invites_a_member_who_chooses_a_password_and_signs_in(
    client: TestClient, people: People, world: object
) -> None:
    sign_in(client, people.emails["admin"])
    org_id = world.org["ent-b"]  # type: ignore[attr-defined]
    csrf = csrf_of(client, "/invite")
    response = client.post(
        "/invite",
        data={
            "email": "new@ent-b.vn",
            "display_name": "Chị Lan",
            "role": "enterprise_member",
            "organization_id": str(org_id),
            "csrf_token": csrf,
        },
    )
    assert response.status_code == 200
    link = re.search(r'class="invitation-link">[^<]*(/invitations/[^<]+)</code>', response.text)
    assert link
    # The same email twice is a field error, not a crash.
    csrf = csrf_of(client, "/invite")
    again = client.post(
        "/invite",
        data={
            "email": "NEW@ent-b.vn",
            "role": "enterprise_member",
            "organization_id": str(org_id),
            "csrf_token": csrf,
        },
    )
    assert again.status_code == 422 and 'aria-invalid="true"' in again.text

    visitor = TestClient(client.app)
    form = visitor.get(link.group(1))
    assert form.status_code == 200 and "new@ent-b.vn" in form.text
    csrf = csrf_of(visitor, link.group(1))
    short = visitor.post(
        link.group(1), data={"password": "short", "password_again": "short", "csrf_token": csrf}
    )
    assert short.status_code == 422
    csrf = csrf_of(visitor, link.group(1))
    done = visitor.post(
        link.group(1),
        data={"password": "a long new password", "password_again": "a long new password", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and visitor.cookies.get("tm_session")
    assert visitor.get(link.group(1)).status_code == 404  # used up
    assert "Chị Lan" in visitor.get("/").text


def test_members_cannot_invite_and_brokers_cannot_invite_staff(client: TestClient, people: People) -> None:
    sign_in(client, people.emails["ent-a"])
    assert client.get("/invite").status_code == 403
    broker = TestClient(client.app)
    sign_in(broker, people.emails["broker"])
    csrf = csrf_of(broker, "/invite")
    response = broker.post(
        "/invite", data={"email": "x@y.vn", "role": "admin", "organization_id": "", "csrf_token": csrf}
    )
    assert response.status_code == 422


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client: TestClient, people: People) -> None:
    response = client.get("/invite", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/invite"
