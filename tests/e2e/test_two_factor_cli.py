"""``coffre 2fa``, login with a code, and ``coffre admin staff``, against a real server."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.authenticator import Authenticator
from tests.e2e.conftest import COFFRE, PASSWORD, Cli, Server

pytestmark = pytest.mark.e2e


def enable_2fa(cli: Cli, email: str = "alice@example.org") -> tuple[Authenticator, list[str]]:
    """``coffre 2fa enable``: read the secret it shows, answer with a code on stdin."""
    with subprocess.Popen(
        [COFFRE, "2fa", "enable"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.environ(),
    ) as process:
        assert process.stdout is not None and process.stdin is not None
        secret = process.stdout.readline().decode().rsplit(" ", 1)[-1].strip()
        uri = process.stdout.readline().decode()
        assert uri.startswith(f"otpauth URI: otpauth://totp/Coffre:{email}?")
        assert f"secret={secret}" in uri
        device = Authenticator.from_b32(secret)
        rest, err = process.communicate((device.code() + "\n").encode(), timeout=60)
    assert process.returncode == 0, err.decode()
    codes = re.findall(r"^  ([a-z2-7]{4}(?:-[a-z2-7]{4}){3})$", rest.decode(), re.MULTILINE)
    assert len(codes) == 10, rest
    return device, codes


def test_2fa_enable_login_with_a_code_and_disable(cli: Cli) -> None:
    device, codes = enable_2fa(cli)
    assert cli.out("2fa", "status").startswith("two-factor authentication is on")
    cli.run("logout")

    # No code: the server asks for one, and there is none on standard input.
    refused = cli.run(
        "login", "alice@example.org", "--password-stdin", input=PASSWORD + "\n", check=False
    )
    assert refused.returncode == 2
    assert refused.stderr.decode().startswith("coffre: expected the two-factor code")
    wrong = cli.run(
        "login",
        "alice@example.org",
        "--password-stdin",
        "--totp",
        "000000",
        input=PASSWORD + "\n",
        check=False,
    )
    assert wrong.returncode == 4 and b"Traceback" not in wrong.stderr
    assert "two-factor code is wrong" in wrong.stderr.decode()

    # The code on the line after the password, then --totp; recovery codes work in
    # COFFRE_TOTP and --totp alike, once each.
    cli.run(
        "login", "alice@example.org", "--password-stdin", input=f"{PASSWORD}\n{device.code()}\n"
    )
    assert "alice@example.org" in cli.out("whoami")
    cli.run(
        "login",
        "alice@example.org",
        "--password-stdin",
        "--totp",
        device.code(),
        input=PASSWORD + "\n",
    )
    cli.run(
        "login",
        "alice@example.org",
        "--password-stdin",
        input=PASSWORD + "\n",
        COFFRE_TOTP=codes[1],
    )
    cli.run(
        "login", "alice@example.org", "--password-stdin", "--totp", codes[0], input=PASSWORD + "\n"
    )
    replayed = cli.run(
        "login",
        "alice@example.org",
        "--password-stdin",
        "--totp",
        codes[0],
        input=PASSWORD + "\n",
        check=False,
    )
    assert replayed.returncode == 4

    bad = cli.run("2fa", "disable", "--code", "12", check=False)
    assert bad.returncode == 4 and bad.stderr.decode().count("\n") == 1
    cli.run("2fa", "disable", "--code", codes[2])
    assert cli.out("2fa", "status").strip() == "two-factor authentication is off"
    cli.run("logout")
    cli.run("login", "alice@example.org", "--password-stdin", input=PASSWORD + "\n")


def test_admin_staff_add_ls_rm(cli: Cli, server: Server) -> None:
    data = str(server.data)
    assert cli.out("admin", "staff", "ls", "--data", data).strip() == "no staff accounts"
    added = cli.run("admin", "staff", "add", "alice@example.org", "--role", "agent", "--data", data)
    assert added.stdout.decode().strip() == "alice@example.org: user -> agent"
    assert "two-factor" in added.stderr.decode()
    assert cli.out("admin", "staff", "ls", "--data", data).split() == [
        "alice@example.org",
        "agent",
        "2fa",
        "off",
    ]
    enable_2fa(cli)
    cli.run("admin", "staff", "add", "alice@example.org", "--role", "admin", "--data", data)
    assert cli.out("admin", "staff", "ls", "--data", data).split()[1:] == ["admin", "2fa", "on"]
    unknown = cli.run("admin", "staff", "add", "nobody@example.org", "--data", data, check=False)
    assert unknown.returncode == 3
    assert (
        unknown.stderr.decode() == "coffre: no account with the email address nobody@example.org\n"
    )
    bad_role = cli.run(
        "admin", "staff", "add", "alice@example.org", "--role", "root", "--data", data, check=False
    )
    assert bad_role.returncode == 2
    cli.run("admin", "staff", "rm", "alice@example.org", "--data", data)
    assert cli.out("admin", "staff", "ls", "--data", data).strip() == "no staff accounts"
