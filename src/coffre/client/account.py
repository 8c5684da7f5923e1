"""Account flows on the client: signup, login, password change, recovery.

Each flow derives on the client what docs/crypto.md says, sends the server only the auth
secret and sealed envelopes, and opens what comes back, checking every binding. Login
never decrypts anything for the server's benefit: nothing derived from a decryption goes
back to the server (SECURITY.md A3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coffre.client.api import Api
from coffre.crypto import account as ca
from coffre.crypto.identity import Identity, check_own_identity
from coffre.errors import IntegrityError, Unauthenticated
from coffre.protocol import models as m


@dataclass(frozen=True, slots=True, repr=False)
class AccountKeys:
    """The opened keys of a signed-in account. Never logged, never sent."""

    user_id: bytes
    email: str
    master_key: bytes
    identity: Identity
    root_id: bytes
    root_key: bytes

    def __repr__(self) -> str:
        return f"AccountKeys(email={self.email!r}, user_id={self.user_id.hex()}, <keys hidden>)"


def _params(model: m.KdfParams) -> ca.KdfParams:
    return ca.KdfParams(model.time_cost, model.memory_kib, model.lanes, model.salt)


def _model(params: ca.KdfParams) -> m.KdfParams:
    return m.KdfParams(
        time_cost=params.time_cost,
        memory_kib=params.memory_kib,
        lanes=params.lanes,
        salt=params.salt,
    )


def open_keys(master_key: bytes, bundle: m.KeyBundle) -> AccountKeys:
    """Open the identity and root keys under ``master_key``, checking what binds them."""
    user_id = bytes.fromhex(bundle.user_id)
    root_id = bytes.fromhex(bundle.root_id)
    identity = Identity.open(master_key, user_id, bundle.identity_keys)
    check_own_identity(identity, bundle.public_keys)
    root_key = ca.unwrap_root_key(master_key, user_id, root_id, bundle.root_key)
    return AccountKeys(user_id, bundle.email, master_key, identity, root_id, root_key)


def signup(
    api: Api,
    email: str,
    password: str,
    *,
    kdf: ca.KdfParams | None = None,
    device: str | None = None,
) -> tuple[m.LoginResponse, AccountKeys]:
    params = ca.KdfParams.new(kdf)
    secrets = ca.derive_login_secrets(password, params, floor=kdf)
    user_id, root_id = ca.new_id(), ca.new_id()
    master_key, root_key = ca.new_key(), ca.new_key()
    identity = Identity.generate(user_id)
    req = m.SignupRequest(
        email=email,
        user_id=user_id.hex(),
        kdf=_model(params),
        auth_secret=secrets.auth_secret,
        recovery_verifier=ca.recovery_verifier(master_key),
        master_key=ca.wrap_master_key(secrets.kek, user_id, params, master_key),
        identity_keys=identity.seal(master_key),
        public_keys=identity.publish(),
        root_id=root_id.hex(),
        root_key=ca.wrap_root_key(master_key, user_id, root_id, root_key),
        device=device,
    )
    response = api.signup(req)
    return response, open_keys(master_key, response.keys)


def login(
    api: Api,
    email: str,
    password: str,
    *,
    device: str | None = None,
    floor: ca.KdfParams | None = None,
    totp: str | None = None,
    ask_code: Callable[[], str] | None = None,
) -> tuple[m.LoginResponse, AccountKeys]:
    """Log in. With two-factor authentication on, ``totp`` is the code; without it, the
    server asks for one and ``ask_code`` (if given) is called for it."""
    params = _params(api.prelogin(email).kdf)
    secrets = ca.derive_login_secrets(password, params, floor=floor)
    request = m.LoginRequest(email=email, auth_secret=secrets.auth_secret, device=device)
    try:
        response = api.login(request.model_copy(update={"totp": totp}))
    except Unauthenticated as exc:
        if exc.code != "two_factor_required" or totp or ask_code is None:
            raise
        response = api.login(request.model_copy(update={"totp": ask_code()}))
    bundle = response.keys
    if _params(bundle.kdf) != params or bundle.email != m.PreloginRequest(email=email).email:
        raise IntegrityError("account key bundle")
    master_key = ca.unwrap_master_key(
        secrets.kek, bytes.fromhex(bundle.user_id), params, bundle.master_key
    )
    return response, open_keys(master_key, bundle)


def change_password(
    api: Api,
    keys: AccountKeys,
    old_password: str,
    new_password: str,
    *,
    floor: ca.KdfParams | None = None,
) -> None:
    current = _params(api.prelogin(keys.email).kdf)
    old = ca.derive_login_secrets(old_password, current, floor=floor)
    params = ca.KdfParams.new(floor)
    new = ca.derive_login_secrets(new_password, params, floor=floor)
    api.change_password(
        m.PasswordChangeRequest(
            auth_secret=old.auth_secret,
            kdf=_model(params),
            new_auth_secret=new.auth_secret,
            master_key=ca.wrap_master_key(new.kek, keys.user_id, params, keys.master_key),
        )
    )


def recover(
    api: Api,
    email: str,
    recovery_key: str,
    new_password: str,
    *,
    device: str | None = None,
    floor: ca.KdfParams | None = None,
) -> tuple[m.LoginResponse, AccountKeys]:
    """Set a new password with the recovery key (the master key); every session ends.

    The client first fetches the key bundle with the recovery verifier and checks that
    the master key opens it, so that nothing is changed with a mistyped key or for a
    server that answers with someone else's keys.
    """
    master_key = ca.decode_recovery_key(recovery_key)
    verifier = ca.recovery_verifier(master_key)
    bundle = api.recovery_keys(m.RecoveryProof(email=email, recovery_verifier=verifier))
    open_keys(master_key, bundle)
    user_id = bytes.fromhex(bundle.user_id)
    params = ca.KdfParams.new(floor)
    new = ca.derive_login_secrets(new_password, params, floor=floor)
    response = api.recover(
        m.RecoverRequest(
            email=email,
            recovery_verifier=verifier,
            kdf=_model(params),
            auth_secret=new.auth_secret,
            master_key=ca.wrap_master_key(new.kek, user_id, params, master_key),
            device=device,
        )
    )
    if response.keys.user_id != bundle.user_id:
        raise IntegrityError("account key bundle")
    return response, open_keys(master_key, response.keys)
