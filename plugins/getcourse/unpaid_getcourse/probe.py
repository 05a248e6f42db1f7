"""``unpaid doctor --online`` for GetCourse: one cheap authenticated request per key kind.

- the secret key: the account's group list through the export API (one budget request; it needs the
  key, the account and the API on the plan, and changes nothing). Wrong key (901), no such account
  (404 «Wrong subdomain»), plan without API (917 or an empty answer) and an unreachable address
  each fail with their own line;
- the developer key: the Tech API's group list (free); a 403 names the developer key;
- ``author_user_id``, when set: that user read through the Tech API, so comments have an author.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from unpaid.connector import NotFound
from unpaid.errors import ConfigError

from unpaid_getcourse.i18n import _

if TYPE_CHECKING:
    from unpaid_getcourse.connector import GetCourseConnector


def probe(connector: "GetCourseConnector") -> str:
    client = connector.client
    client.require_budget(1, _("checking the secret key"))
    client.groups()
    said = [_("secret key accepted by account {account} (1 export-budget request; {left} of {limit} left)").format(
        account=connector.account, left=client.budget.remaining(), limit=client.budget.limit)]
    if not client.developer_key:
        said.append(_("no developer key: comments and cancel reasons need one, and a fresh read is a sync"))
        return "; ".join(said)
    client.tech("GET", "common/get-groups")
    said.append(_("developer key accepted"))
    if connector.author is None:
        said.append(_("author_user_id not set: comments cannot be added"))
        return "; ".join(said)
    try:
        client.tech("GET", "user/get-fields", params={"userId": connector.author})
    except NotFound:
        raise ConfigError(_("[sources.{name}]: author_user_id {author} is not a user of account {account}").format(
                              name=connector.name, author=connector.author, account=connector.account),
                          _("give the id from the user's card URL (/user/control/user/update/id/NUMBER)")) from None
    said.append(_("comments are written as user {author}").format(author=connector.author))
    return "; ".join(said)
