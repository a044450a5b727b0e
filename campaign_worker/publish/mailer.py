"""Sending e-mail over SMTP with the settings of `config/worker.toml` `[smtp]`.

Used for operator alerts and for the weekly digest. The password comes from the environment
variable named in the settings, never from a file. Plain text is always sent; HTML is optional.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from campaign_worker.config.worker import SmtpSettings
from campaign_worker.errors import CampaignWorkerError

log = logging.getLogger(__name__)


class MailError(CampaignWorkerError):
    """The mail could not be handed to the SMTP server; the message says why."""


def build_message(settings: SmtpSettings, to: Sequence[str] | str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject.replace("\n", " ").strip()[:250]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1])
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def send_mail(settings: SmtpSettings, to: Sequence[str] | str, subject: str, text: str, html: str | None = None) -> None:
    """Send one mail to `to`; raises `MailError` with a readable reason."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise MailError("keine Empfänger / no recipients")
    send_message(settings, build_message(settings, recipients, subject, text, html), recipients)


def send_message(settings: SmtpSettings, message: EmailMessage, recipients: Sequence[str]) -> None:
    """Send a ready-made message (e.g. a digest with inline images) to `recipients`."""
    if not recipients:
        raise MailError("keine Empfänger / no recipients")
    if not message["From"]:
        message["From"] = settings.sender
    try:
        if settings.ssl:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with client:
            if settings.starttls and not settings.ssl:
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                password = settings.password()
                if password is None:
                    raise MailError(f"SMTP-Passwort fehlt: Umgebungsvariable {settings.password_env} ist leer / not set")
                client.login(settings.username, password)
            client.send_message(message, to_addrs=list(recipients))
    except MailError:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"SMTP {settings.host}:{settings.port}: {exc}") from exc
    log.info("Mail gesendet / mail sent: %s Empfänger / recipient(s)", len(recipients))  # addresses never go to the log
