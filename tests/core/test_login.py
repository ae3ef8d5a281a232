from django.conf import settings


def login(client, username, password, address="127.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


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


def test_failures_from_many_addresses_lock_the_account(client, make_user):
    """Password spraying: a few guesses from each of many addresses add up on the account."""
    make_user("frank", password="right-password-1")
    limit = settings.LOGIN_ACCOUNT_FAILURE_LIMIT
    assert limit > settings.AXES_FAILURE_LIMIT  # one address alone is stopped sooner
    for n in range(limit - 1):
        assert login(client, "frank", "wrong", address=f"10.0.{n // 200}.{n % 200 + 1}").status_code == 200
    assert login(client, "frank", "wrong", address="10.9.9.9").status_code == 429
    locked = login(client, "frank", "right-password-1", address="192.0.2.1")  # the owner, from a new address
    assert locked.status_code == 429
    assert "data-testid=\"locked-out\"" in locked.content.decode()


def test_behind_the_tls_proxy_each_client_address_counts_on_its_own(client, make_user, settings):
    """Every request comes from the proxy (127.0.0.1); the address it saw is the last X-Forwarded-For entry."""
    settings.HTTPS = True
    make_user("heidi", password="right-password-1")

    def via_proxy(password, seen):
        return client.post("/accounts/login/", {"username": "heidi", "password": password}, REMOTE_ADDR="127.0.0.1",
                           HTTP_X_FORWARDED_FOR=f"10.0.0.1, {seen}", secure=True)

    for _ in range(settings.AXES_FAILURE_LIMIT):
        via_proxy("wrong", "203.0.113.9")
    assert via_proxy("right-password-1", "203.0.113.9").status_code == 429
    assert via_proxy("right-password-1", "198.51.100.20").status_code == 302  # the owner, elsewhere


def test_an_administrator_unlocks_an_account(client, make_user):
    from django.core.management import call_command

    make_user("grace", password="right-password-1")
    for n in range(settings.LOGIN_ACCOUNT_FAILURE_LIMIT):
        login(client, "grace", "wrong", address=f"10.1.0.{n + 1}")
    assert login(client, "grace", "right-password-1", address="192.0.2.2").status_code == 429
    call_command("axes_reset_username", "grace")
    assert login(client, "grace", "right-password-1", address="192.0.2.2").status_code == 302


def test_passwords_are_stored_hashed(make_user):
    user = make_user("erin", password="right-password-1")
    assert "right-password-1" not in user.password
    assert user.check_password("right-password-1")
