"""The pages: each renders what one service returns (``opus1_integrations.services``) and computes no fact itself.

Reading pages are GETs (checking a client and verifying a sample ask the service live but change nothing); every
change is a POST with a CSRF token that redirects to a page (POST/redirect/GET).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from .. import schedule
from ..errors import ExportRejected, SettingsInvalid
from ..services import configure as configure_service
from ..services.check import check
from ..services.diagnose import diagnose
from ..services.runs import list_runs, run_items
from ..services.status import SORTS, business_status, integration_status, overview
from ..services.verify import verify
from . import forms, signin
from .access import SESSION_COOKIE, cookie_header

PER_PAGE = 50
FINDINGS_PER_PAGE = 20
RUNS_PER_PAGE = 20
MAX_SAMPLE = 200
MAX_QUERY = 320

#: The notes a redirect may ask the next page to show (``?done=...``): fixed texts, never user data.
NOTES = {
    "saved": "Settings saved and checked with the service.",
    "saved-disabled": "Settings saved; the integration is disabled.",
    "saved-no-export": "Settings saved and checked with the service. Syncs start once the business's opus1 export "
                       "is set up (by your administrator).",
    "sync-started": "Sync started: this page shows it running and then its result.",
    "sync-running": "A sync started from this page is still running.",
}


def ROUTES(web) -> list[tuple]:
    """(name, path, handler, options) of every page."""

    def signin_page(request, host, principal, form) -> Response:
        token = request.query_params.get("token", "")
        who = signin.use_link_token(host.db, web.key, token) if web.identify is None else None
        if who is None:
            raise HTTPException(403, "This sign-in link cannot be used: it was already used, it expired, or it is not "
                                     "a link this server made. Ask for a new one (`opus1-int web link`).")
        session = signin.open_session(host.db, who)
        target = web.link(request, "overview") if who.operator else \
            web.link(request, "tab", business=who.business)
        response = RedirectResponse(target, 303)  # the token leaves the address bar
        response.headers.append("set-cookie", cookie_header(request.scope, SESSION_COOKIE, session,
                                                            max_age=int(signin.SESSION_LIFETIME.total_seconds())))
        return response

    def signout(request, host, principal, form) -> Response:
        signin.close_session(host.db, request.cookies.get(SESSION_COOKIE))
        response = web.render(request, "message.html", title="Signed out", message="You are signed out.", hint=None)
        response.headers.append("set-cookie", cookie_header(request.scope, SESSION_COOKIE, "", max_age=0))
        return response

    def home(request, host, principal, form) -> Response:
        if not principal.operator:
            return RedirectResponse(web.link(request, "tab", business=principal.business), 303)
        sort = request.query_params.get("sort", "business")
        sort = sort if sort in SORTS else "business"
        descending = request.query_params.get("order") == "desc"
        return web.render(request, "overview.html", principal=principal, rows=overview(host, sort=sort,
                                                                                        descending=descending),
                          sort=sort, descending=descending, sorts=list(SORTS))

    def tab(request, host, principal, form) -> Response:
        business = request.path_params["business"]
        cards = []
        for status in business_status(host, business):
            name = status.integration
            cards.append({"status": status, "job_running": web.jobs.running(business, name),
                          "job": web.jobs.outcome(business, name)})
            stored = host.stored(name, business) if status.configured else None
            if stored is not None and stored.contacts_path:
                web.jobs.warm(stored.contacts_path)  # so that errors, check and verify answer quickly
        refresh = any(c["status"].running or c["job_running"] for c in cards)
        done = request.query_params.get("done", "")
        note = None if done.startswith("sync-") and not refresh else NOTES.get(done)  # the result shows instead
        return web.render(request, "tab.html", principal=principal, business=business, cards=cards, note=note,
                          refresh=refresh)

    def sync_now(request, host, principal, form) -> Response:
        business, name = request.path_params["business"], request.path_params["name"]
        status = integration_status(host, business, name)
        if status.broken or not status.configured or not status.enabled:
            raise HTTPException(409, f"{name} cannot sync business {business!r}: it is {status.outcome}.")
        done = "sync-started" if web.jobs.start(business, name) else "sync-running"
        return RedirectResponse(web.link(request, "tab", {"done": done}, business=business), 303)

    def settings_page(request, host, principal, form, *, submitted=None, error=None, status=200) -> Response:
        business, name = request.path_params["business"], request.path_params["name"]
        integration = host.integration(name)
        schema = integration.settings_schema()
        stored = host.stored(name, business)
        saved = stored.settings if stored else {}
        return web.render(
            request, "settings.html", status, principal=principal, business=business, name=name, schema=schema,
            fields=forms.fields(schema, saved, typed=submitted.typed if submitted else None,
                                errors={**(submitted.errors if submitted else {}),
                                        **({k.split(".")[0]: v for k, v in error.fields.items()} if error else {})}),
            enabled=(form.get("enabled") == "true") if submitted else (stored.enabled if stored else True),
            interval=(form.get("interval_hours") if submitted else None)
            or f"{schedule.interval_hours(host.db, business, name):g}",
            contacts_path=(stored.contacts_path if stored else None),
            interval_error=submitted.errors.get("interval_hours") if submitted else None,
            contacts_error=error.fields.get("contacts_path") if error else None,
            contacts_typed=form.get("contacts_path") if submitted else None,
            error=error, unplaced=_unplaced(error, schema))

    def save_settings(request, host, principal, form) -> Response:
        business, name = request.path_params["business"], request.path_params["name"]
        schema = host.integration(name).settings_schema()
        submitted = forms.read_form(schema, form)
        enabled = form.get("enabled") == "true"
        interval = _interval(form.get("interval_hours"), submitted)
        contacts = (form.get("contacts_path") or "").strip() or None if principal.operator else None
        if submitted.errors:
            return settings_page(request, host, principal, form, submitted=submitted, status=422)
        try:
            saved = configure_service.configure(host, name, business, submitted.given, contacts_path=contacts,
                                                enabled=enabled, interval_hours=interval, unset=submitted.unset)
        except SettingsInvalid as exc:
            return settings_page(request, host, principal, form, submitted=submitted, error=exc, status=422)
        except ExportRejected as exc:  # the export's path an operator gave
            refused = SettingsInvalid(exc.message, exc.hint, fields={"contacts_path": "; ".join(
                str(p) for p in exc.problems[:3]) or exc.message})
            return settings_page(request, host, principal, form, submitted=submitted, error=refused, status=422)
        done = "saved-disabled" if not enabled else "saved" if saved.enabled else "saved-no-export"
        return RedirectResponse(web.link(request, "tab", {"done": done}, business=business), 303)

    def errors_page(request, host, principal, form) -> Response:
        business = request.path_params["business"]
        try:
            report = diagnose(host, business)
        except SettingsInvalid as exc:
            return web.render(request, "errors.html", principal=principal, business=business, report=None,
                              nothing=exc, page=1, pages=1, findings=[])
        page, pages = _page(request, len(report.findings), FINDINGS_PER_PAGE)
        shown = report.findings[(page - 1) * FINDINGS_PER_PAGE: page * FINDINGS_PER_PAGE]
        return web.render(request, "errors.html", principal=principal, business=business, report=report,
                          nothing=None, page=page, pages=pages, findings=shown)

    def check_page(request, host, principal, form) -> Response:
        business, name = request.path_params["business"], request.path_params["name"]
        query = request.query_params.get("q", "").strip()[:MAX_QUERY]
        answer = check(host, name, business, query) if query else None
        return web.render(request, "check.html", principal=principal, business=business, name=name, query=query,
                          answer=answer)

    def verify_page(request, host, principal, form) -> Response:
        business, name = request.path_params["business"], request.path_params["name"]
        sample = _number(request.query_params.get("sample"), 20, 1, MAX_SAMPLE)
        report = verify(host, name, business, sample) if "sample" in request.query_params else None
        return web.render(request, "verify.html", principal=principal, business=business, name=name,
                          sample=sample, report=report)

    def runs_page(request, host, principal, form) -> Response:
        business, name = request.path_params["business"], request.path_params["name"]
        page = _number(request.query_params.get("page"), 1, 1, 10**6)
        rows = list_runs(host, business=business, integration=name, limit=page * RUNS_PER_PAGE + 1)
        more = len(rows) > page * RUNS_PER_PAGE
        return web.render(request, "runs.html", principal=principal, business=business, name=name, page=page,
                          runs=rows[(page - 1) * RUNS_PER_PAGE: page * RUNS_PER_PAGE], more=more)

    def run_page(request, host, principal, form) -> Response:
        business, run_id = request.path_params["business"], request.path_params["run_id"]
        outcome = request.query_params.get("outcome") or None
        page = _number(request.query_params.get("page"), 1, 1, 10**7)
        items = run_items(host, run_id, page, PER_PAGE, outcome=outcome, business=business)
        return web.render(request, "run.html", principal=principal, business=business, items=items)

    business = "/b/{business}"
    one = business + "/integrations/{name}"
    return [
        ("signin", "/signin", signin_page, {"public": True}),
        ("signout", "/signout", signout, {"post": True, "business": False}),
        ("overview", "/", home, {"business": False}),
        ("tab", business + "/integrations", tab, {}),
        ("errors", business + "/errors", errors_page, {}),
        ("run", business + "/runs/{run_id:int}", run_page, {}),
        ("settings", one + "/settings", settings_page, {}),
        ("save_settings", one + "/settings", save_settings, {"post": True}),
        ("sync", one + "/sync", sync_now, {"post": True}),
        ("check", one + "/check", check_page, {}),
        ("verify", one + "/verify", verify_page, {}),
        ("runs", one + "/runs", runs_page, {}),
    ]


def _number(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(text))) if text else default
    except ValueError:
        return default


def _page(request, total: int, per_page: int) -> tuple[int, int]:
    pages = max(1, -(-total // per_page))
    return _number(request.query_params.get("page"), 1, 1, pages), pages


def _interval(text: str | None, submitted: forms.Submitted) -> float | None:
    """The form's interval in hours (``None``: keep the saved one); a wrong one is added to the form's errors."""
    if not text or not text.strip():
        return None
    try:
        hours = float(text)
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24 * 365:
        submitted.errors["interval_hours"] = "must be a number of hours above 0"
        return None
    return hours


def _unplaced(error: SettingsInvalid | None, schema: dict) -> dict:
    """The problems of a refusal that belong to no field of the form."""
    if error is None:
        return {}
    props = set(schema.get("properties", {})) | {"contacts_path"}  # the secret fields are properties too
    return {k: v for k, v in error.fields.items() if k.split(".")[0] not in props}
