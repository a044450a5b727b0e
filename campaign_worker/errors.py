"""One exception base for everything a user or operator can fix.

Library code raises a subclass of `CampaignWorkerError` with a message that says what is wrong
and what to do (German / English). The command line translates it once, at its edge
(`cli.main`): the message, exit code 2, no traceback. The web app shows it as a page or a JSON
`detail`. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CampaignWorkerError(Exception):
    """Something the user can fix; the message says what to fix."""


class UserError(CampaignWorkerError):
    """Bad input given on the command line (a file, an option, a post reference)."""
