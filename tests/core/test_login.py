from django.conf import settings


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_correct_password_logs_in(client, make_user):
    make_user("alice", password="right-password-1")
    response = login(client, "alice", "right-password-1")
    assert response.status_code == 302
    assert client.get("/api/v1/me").json()["username"] == "alice"


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, make_user):
    make_user("bob", password="right-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "bob", "wrong").status_code == 200  # form shown again with an error
    locked = login(client, "bob", "wrong")
    assert locked.status_code == 429
    assert login(client, "bob", "right-password-1").status_code == 429
    assert client.get("/api/v1/me").status_code == 401


def test_lockout_is_per_username(client, make_user):
    make_user("carol", password="right-password-1")
    make_user("dave", password="right-password-2")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "carol", "wrong")
    assert login(client, "dave", "right-password-2").status_code == 302


def test_passwords_are_stored_hashed(make_user):
    user = make_user("erin", password="right-password-1")
    assert "right-password-1" not in user.password
    assert user.check_password("right-password-1")
