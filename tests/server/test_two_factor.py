"""Two-factor authentication (TOTP): enrolment, login, replay, recovery codes, limits."""

from __future__ import annotations

import pytest

from coffre.client import two_factor
from coffre.errors import Conflict, RateLimited, Unauthenticated
from coffre.server.services import totp
from tests.authenticator import Authenticator
from tests.server.raw import Account, assert_error, wire
from tests.server.staffing import enable_2fa


def test_totp_matches_the_rfc_6238_vectors() -> None:
    secret = b"12345678901234567890"
    assert totp.hotp(secret, 59 // 30)[-6:] == "287082"  # RFC 6238 T=59: 94287082
    assert totp.code_at(secret, 1111111109) == "081804"  # 07081804
    assert totp.code_at(secret, 2000000000) == "279037"  # 69279037
    assert totp.match(secret, "081804", at=1111111109 + 30) == 1111111109 // 30
    assert totp.match(secret, "081804", at=1111111109 + 90) is None


def test_enrolment_needs_a_code_of_the_new_secret(alice: Account) -> None:
    assert not two_factor.status(alice.api).enabled
    begun = two_factor.begin(alice.api)
    assert begun.uri.startswith("otpauth://totp/Coffre:")
    assert f"secret={begun.secret}" in begun.uri
    with pytest.raises(Unauthenticated) as wrong:
        two_factor.confirm(alice.api, "not a code")
    assert wrong.value.code == "invalid_two_factor_code"
    device = Authenticator.from_b32(begun.secret)
    codes = two_factor.confirm(alice.api, device.code()).recovery_codes
    assert len(codes) == len(set(codes)) == 10
    assert two_factor.status(alice.api).enabled
    with pytest.raises(Conflict) as again:
        two_factor.begin(alice.api)
    assert again.value.code == "two_factor_enabled"


def test_login_asks_for_a_code_only_after_the_password(alice: Account) -> None:
    device, _ = enable_2fa(alice)
    api = alice.api
    wrong_password = wire(alice.login_request(b"\x01" * 32))
    assert_error(api.http.post("/v1/auth/login", json=wrong_password), 401, "invalid_credentials")
    body = wire(alice.login_request())
    assert_error(api.http.post("/v1/auth/login", json=body), 401, "two_factor_required")
    code = device.code()
    assert api.http.post("/v1/auth/login", json={**body, "totp": code}).status_code == 200
    # The same code again: refused, even within its 30 seconds.
    replay = api.http.post("/v1/auth/login", json={**body, "totp": code})
    assert_error(replay, 401, "invalid_two_factor_code")
    # A wrong code with a wrong password says nothing about the code.
    bad = {**wrong_password, "totp": device.code()}
    assert_error(api.http.post("/v1/auth/login", json=bad), 401, "invalid_credentials")


def test_a_recovery_code_works_once(alice: Account) -> None:
    _, codes = enable_2fa(alice)
    body = wire(alice.login_request())
    first = alice.api.http.post("/v1/auth/login", json={**body, "totp": codes[0].upper()})
    assert first.status_code == 200
    again = alice.api.http.post("/v1/auth/login", json={**body, "totp": codes[0]})
    assert_error(again, 401, "invalid_two_factor_code")
    assert two_factor.status(alice.api).recovery_codes_left == 9


def test_wrong_codes_are_rate_limited(alice: Account) -> None:
    device, _ = enable_2fa(alice)
    body = {**wire(alice.login_request()), "totp": "123456"}
    limit = 10  # COFFRE_LOGIN_FAILURES_PER_ACCOUNT
    for _ in range(limit):
        response = alice.api.http.post("/v1/auth/login", json=body)
        if response.status_code == 200:  # the one-in-a-million guess that is right
            continue
        assert_error(response, 401, "invalid_two_factor_code")
    limited = alice.api.http.post("/v1/auth/login", json={**body, "totp": device.code()})
    assert_error(limited, 429, "too_many_requests")
    with pytest.raises(RateLimited):
        two_factor.disable(alice.api, device.code())


def test_disable_needs_a_current_code(alice: Account) -> None:
    device, _ = enable_2fa(alice)
    with pytest.raises(Unauthenticated):
        two_factor.disable(alice.api, "12345")
    two_factor.disable(alice.api, device.code())
    assert not two_factor.status(alice.api).enabled
    login = alice.api.http.post("/v1/auth/login", json=wire(alice.login_request()))
    assert login.status_code == 200
    with pytest.raises(Conflict) as off:
        two_factor.disable(alice.api, device.code())
    assert off.value.code == "two_factor_disabled"
