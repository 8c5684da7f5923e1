"""Logging in with the default Argon2id parameters, against Argon2id alone."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import peers
from bench.coffre_runner import Cli, server
from bench.config import Config
from bench.stats import Results, Target


def login(cfg: Config, results: Results, work: Path) -> None:
    results.note(
        "login",
        "coffre login EMAIL --password-stdin as a new process, end to end (interpreter start, "
        "imports, prelogin, Argon2id t=3 m=64 MiB p=1, login, opening the keys, saving the "
        "session); the baseline is Argon2id with the same parameters, alone, in the "
        "benchmark's process. coffre --version shows the cost of starting the command.",
    )
    results.target(Target("login.cli", "login.argon2", limit=0.5))
    with server(work) as srv:
        cli = Cli(srv, work / "home", "login@bench.invalid")
        cli.signup()
        for run in range(cfg.runs):
            results.add(
                "login.argon2",
                "Argon2id alone (t=3, m=64 MiB, p=1)",
                "s",
                peers.argon2id_seconds(),
                higher=False,
            )
            m = cli.login()
            results.add("login.cli", "coffre login, end to end", "s", m.seconds, higher=False)
            start = cli.run("--version")
            results.add(
                "login.startup", "coffre --version (start-up)", "s", start.seconds, higher=False
            )
            print(f"[login] run {run + 1}/{cfg.runs}: {m.seconds:.3f} s", file=sys.stderr)
        if cfg.profile:
            cli.profiled_login(cfg.results / "login")
