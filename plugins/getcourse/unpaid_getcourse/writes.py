"""The emulated account's import API (``/pl/api/users``, ``/pl/api/deals``) and Tech API (``/pl/api/v1``).

Each function takes the :class:`~unpaid_getcourse.account.Account` and decoded request values and
returns ``(http_status, body)``; ``body`` None means an empty answer (a plan without API).
"""

from __future__ import annotations

from typing import Any, Mapping

from unpaid_getcourse import wire
from unpaid_getcourse.account import Account
from unpaid_getcourse.mapping import STATUSES, TECH_STATUSES, truthy


def _inner(**result: Any) -> dict[str, Any]:
    ok = not result.get("error_message")
    return {"success": True, "action": "add",
            "result": {"success": ok, "error": not ok, "error_message": "", **result}}


def import_call(acc: Account, entity: str, form: Mapping[str, str]) -> tuple[int, Any]:
    """``POST /pl/api/{users|deals}``: action=add, key, params (base64 JSON)."""
    with acc.lock:
        if not acc.api_enabled:
            return 200, None  # live plan-less accounts answer an empty 200 and write nothing
        if not form.get("action"):
            return 200, {"success": False, "error": wire.NO_ACTION}
        refused = acc.key_error(form.get("key"), write=True)
        if refused:
            return 200, {"success": False, "error": refused.get("error_message") or refused["error"]}
        if form["action"] != "add":
            return 200, {"success": False, "error": wire.FORBIDDEN}
        try:
            params = wire.decode_params(form.get("params", ""))
        except ValueError:
            return 200, {"success": False, "error": wire.NO_PARAMS}
        user_in = params.get("user") or {}
        email = str(user_in.get("email") or "").strip()
        phone = str(user_in.get("phone") or "").strip()
        if not email and not phone:  # e-mail identifies the user, the phone is the fallback [DOC]
            return 200, _inner(error_message=wire.NO_CONTACT)
        user = acc.user_by_email(email, phone=phone or None)
        for key in ("first_name", "last_name", "phone"):
            if user_in.get(key) and (truthy((params.get("system") or {}).get("refresh_if_exists")) or not user.get(key)):
                user[key] = user_in[key]
        for name in user_in.get("group_name") or []:
            name = name[0] if isinstance(name, list) else name
            gid = next((i for i, n in acc.groups.items() if n == name), None)
            if gid is None:
                gid = max(acc.groups, default=0) + 1
                acc.groups[gid] = name
            user["groups"].setdefault(gid, acc.now_local())
        if entity == "users":
            return 200, _inner(user_id=user["id"], user_status="updated")
        return 200, _import_deal(acc, user, params.get("deal") or {})


def _import_deal(acc: Account, user: dict[str, Any], deal_in: Mapping[str, Any]) -> dict[str, Any]:
    status = deal_in.get("deal_status")
    if status is not None and status not in STATUSES:
        return _inner(error_message=f"Неверный статус заказа: {status}")
    number = str(deal_in.get("deal_number") or "")
    deal = next((d for d in acc.deals.values() if number and str(d["number"]) == number), None)
    if deal is not None and deal["user_id"] != user["id"]:
        return _inner(error_message="Заказ с таким номером принадлежит другому пользователю")
    if deal is None:
        if not (deal_in.get("offer_code") or deal_in.get("product_title")) or deal_in.get("deal_cost") is None:
            return _inner(error_message="Не указано предложение или стоимость")
        fields = {"user_id": user["id"], "title": deal_in.get("product_title") or deal_in.get("offer_code"),
                  "cost": int(round(float(str(deal_in["deal_cost"]).replace(",", ".")) * 100))}
        if number:
            fields["number"] = number
        deal = acc.put_deal(fields)
    if deal_in.get("deal_comment"):
        deal["comment"] = str(deal_in["deal_comment"])
    for title, value in (deal_in.get("addfields") or {}).items():
        deal.setdefault("custom", {})[title] = str(value)
        if title not in acc.custom_fields:
            acc.custom_fields.append(title)
    if status:
        acc.set_status(deal, status)
    return _inner(deal_id=deal["id"], deal_number=str(deal["number"]), user_id=user["id"], user_status="updated",
                  payment_link=f"https://{acc.name}.getcourse.ru/sales/shop/dealPay/id/{deal['id']}")


# ---- Tech API ----


def _tech(code: int, data: Any = None, message: str = "", errors: list[str] | None = None) -> tuple[int, Any]:
    return code, {"status": code == 200, "message": message, "code": code, "errors": errors or [], "data": data}


def _deal_object(acc: Account, deal: Mapping[str, Any]) -> dict[str, Any]:
    reason = deal.get("cancel_reason")
    return {
        "id": deal["id"], "user_id": deal["user_id"], "number": str(deal["number"]),
        "created_at": deal["created_at"], "updated_at": deal.get("updated_at"),
        "cost": f"{int(deal.get('cost', 0)) / 100:.2f}", "currency": deal.get("currency", "RUB"),
        "status": deal["status"], "is_payed": 1 if deal["status"] == "payed" else 0, "title": deal.get("title"),
        "payed_value": f"{int(deal.get('paid', 0)) / 100:.2f}", "payed_at": deal.get("payed_at"),
        "status_updated_at": deal.get("status_changed_at"), "cancel_reason_comment": reason,
        "cancel_reason_id": deal.get("cancel_reason_id"),
        "payment_link": f"https://{acc.name}.getcourse.ru/sales/shop/dealPay/id/{deal['id']}",
        "positions": [{"title": deal.get("title"), "quantity": 1, "price": f"{int(deal.get('cost', 0)) / 100:.2f}"}],
    }


def tech_call(acc: Account, method: str, path: str, auth: str | None, query: Mapping[str, str],
              body: Mapping[str, Any]) -> tuple[int, Any]:
    """``/pl/api/v1/{path}`` with ``Authorization: Bearer {developerKey}_{schoolKey}``."""
    with acc.lock:
        token = (auth or "").removeprefix("Bearer ").strip()
        dev, _, school = token.partition("_")
        if not acc.developer_key or dev != acc.developer_key or acc.key_error(school):
            return _tech(403, message="Нет доступа")
        writes = method == "POST"
        if writes and school in acc.read_only_keys:
            return _tech(403, message=wire.FORBIDDEN)
        args = {**query, **body}
        if path in ("common/get-groups",):
            return _tech(200, [{"id": i, "name": n} for i, n in sorted(acc.groups.items())])
        if path == "deal/get-cancel-reasons":
            return _tech(200, [{"id": i, "name": n} for i, n in sorted(acc.cancel_reasons.items())])
        if path.startswith("user/"):
            return _user_call(acc, path, args)
        deal = acc.deals.get(int(args["dealId"])) if str(args.get("dealId", "")).isdigit() else None
        if deal is None:
            return _tech(404, message=wire.NOT_FOUND)
        if path == "deal/get-fields":
            return _tech(200, _deal_object(acc, deal))
        if path == "deal/add-comment":
            for name in ("userId", "text"):  # {dealId, userId, text}, userId = the author [DOC]
                if not str(args.get(name) or "").strip():
                    return _tech(400, message="Ошибка данных", errors=[f"Не заполнено поле {name}"])
            acc.comments.append({"deal_id": deal["id"], "text": args["text"], "user_id": args.get("userId")})
            return _tech(200, {"result": True})
        if path == "deal/update-fields":
            return _update_deal(acc, deal, args)
        return _tech(404, message=wire.NOT_FOUND)


def _update_deal(acc: Account, deal: dict[str, Any], args: Mapping[str, Any]) -> tuple[int, Any]:
    status = args.get("status")
    if status is not None and status not in TECH_STATUSES:
        return _tech(400, message="Ошибка данных", errors=[f"Недопустимое значение поля status: {status}"])
    reason_id = args.get("cancel_reason_id")
    if reason_id is not None and int(reason_id) not in acc.cancel_reasons:
        return _tech(400, message="Ошибка данных", errors=[f"Неизвестная причина отказа: {reason_id}"])
    if status:
        acc.set_status(deal, status, payment=False)  # a payment is recorded by an import, not by this
    if reason_id is not None:
        deal["cancel_reason_id"] = int(reason_id)
    if args.get("cancel_reason_comment") or reason_id is not None:
        deal["cancel_reason"] = args.get("cancel_reason_comment") or acc.cancel_reasons[int(reason_id)]
    return _tech(200, _deal_object(acc, deal))


def _user_call(acc: Account, path: str, args: Mapping[str, Any]) -> tuple[int, Any]:
    user = None
    if str(args.get("userId", "")).isdigit():
        user = acc.users.get(int(args["userId"]))
    elif args.get("email"):
        user = acc.user_by_email(str(args["email"]), create=False)
    if user is None:
        return _tech(404, message=wire.NOT_FOUND)
    if path == "user/get-fields":
        return _tech(200, {k: user.get(k) for k in ("id", "email", "phone", "first_name", "last_name")})
    if path == "user/add-groups":
        ids = [int(g) for g in args.get("groups") or []]
        unknown = [g for g in ids if g not in acc.groups]
        if unknown or not ids:
            return _tech(400, message="Ошибка данных", errors=[f"Неизвестные группы: {unknown or 'пусто'}"])
        for gid in ids:
            user["groups"].setdefault(gid, acc.now_local())
        return _tech(200, [{"id": g, "name": acc.groups[g]} for g in sorted(user["groups"])])
    return _tech(404, message=wire.NOT_FOUND)
