"""The indicators' background job (wufei.core.jobs): the annual report as PDF (seconds of layout: not in a
request), with its progress on the page of the person who asked for it."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_noop

from wufei.core.jobs import job, report, save_file
from wufei.core.scope import scope_for
from wufei.indicators import reports


@job("indicators.report_pdf", retries=1, retry_delay=10)
def report_pdf(user_id: int, plan_id: int, year: int, job_id=None) -> dict:
    """Render the plan's report for `year` as the user sees it (their scope, read again now)."""
    scope = scope_for(get_user_model().objects.get(pk=user_id))
    report(job_id, 10, gettext_noop("evaluating the indicators"))
    html = reports.render_html(scope=scope, plan_id=plan_id, year=year)
    report(job_id, 50, gettext_noop("laying out the PDF"))
    content = reports.html_to_pdf(html)
    return save_file(job_id, f"indicators-{plan_id}-{year}.pdf", content, "application/pdf")
