"""``accord person``: the operator's console for people who sign in: enrol, unlock, disable and enable,
reset a password or an authenticator, and a person's own password change."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from accord.cli.context import command_node
from accord.cli.exit import reporting
from accord.model.organisation import Role
from accord.model.parse import parse_obj
from accord.model.person import PasswordChange, PersonIn
from accord.services import passwords, people

__all__ = ["person_app"]

person_app = typer.Typer(no_args_is_help=True, help="People who sign in with a password and a TOTP code.")

out = Console(soft_wrap=True, highlight=False)

ActorIdArg = Annotated[str, typer.Argument(help="the person's sign-in id (act_...)")]


@person_app.command("add")
def person_add(
    ctx: typer.Context,
    org: Annotated[str, typer.Option(help="organisation id the person belongs to")],
    name: Annotated[str, typer.Option(help="the person's name")],
    role: Annotated[list[Role], typer.Option(help="a role; repeat for several")],
) -> None:
    """Enrol a person: prints their sign-in id, initial password and TOTP enrolment URI, once."""
    with command_node(ctx) as node, reporting():
        enrolment = people.enrol_local(node, org, parse_obj(PersonIn, {"name": name, "roles": role}))
    out.print(f"sign-in id: {enrolment.person.actor_id}")
    out.print(f"initial password (shown once): {enrolment.password}")
    out.print(f"TOTP enrolment (shown once; scan it as a QR code or paste it): {enrolment.totp_uri}")


@person_app.command("unlock")
def person_unlock(ctx: typer.Context, actor_id: ActorIdArg) -> None:
    """Release a person's lockout before it ends by itself."""
    with command_node(ctx) as node, reporting():
        person = people.unlock_local(node, actor_id)
    out.print(f"{person.actor_id} unlocked")


@person_app.command("disable")
def person_disable(ctx: typer.Context, actor_id: ActorIdArg) -> None:
    """Stop a person from signing in, and end every session of theirs now."""
    with command_node(ctx) as node, reporting():
        person = people.disable_local(node, actor_id)
    out.print(f"{person.actor_id} disabled; their sessions have ended")


@person_app.command("enable")
def person_enable(ctx: typer.Context, actor_id: ActorIdArg) -> None:
    """Let a disabled person sign in again."""
    with command_node(ctx) as node, reporting():
        person = people.enable_local(node, actor_id)
    out.print(f"{person.actor_id} enabled")


@person_app.command("reset-password")
def person_reset_password(ctx: typer.Context, actor_id: ActorIdArg) -> None:
    """A new initial password (shown once), which the person must change at their next sign-in; their
    sessions end."""
    with command_node(ctx) as node, reporting():
        reset = people.reset_password_local(node, actor_id)
    out.print(f"{reset.person.actor_id}: sessions ended; the person must change this password when signing in")
    out.print(f"initial password (shown once): {reset.password}")


@person_app.command("reset-totp")
def person_reset_totp(ctx: typer.Context, actor_id: ActorIdArg) -> None:
    """A new TOTP enrolment (shown once) for a lost authenticator: the old one's codes stop working and the
    person's sessions end."""
    with command_node(ctx) as node, reporting():
        reset = people.reset_totp_local(node, actor_id)
    out.print(f"{reset.person.actor_id}: sessions ended; the old authenticator's codes no longer work")
    out.print(f"TOTP enrolment (shown once; scan it as a QR code or paste it): {reset.totp_uri}")


@person_app.command("passwd")
def person_passwd(ctx: typer.Context, actor_id: ActorIdArg) -> None:
    """A person changes their own password at the console: asks for the current password, a code and the
    new password (twice), none of them echoed. Every session of theirs ends."""
    current = typer.prompt("current password", hide_input=True)
    code = typer.prompt("code from the authenticator app")
    new = typer.prompt("new password (at least 12 characters)", hide_input=True, confirmation_prompt=True)
    with command_node(ctx) as node, reporting():
        body = parse_obj(PasswordChange, {"current_password": current, "totp": code, "new_password": new})
        ended = passwords.change_password_local(node, actor_id, body)
    out.print(f"{actor_id}: password changed; {ended} session(s) ended")
