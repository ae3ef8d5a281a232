"""Background jobs: a job that fails is retried by the queue and its failure kept, with the traceback, for the
administrator; a watched job reports its progress; periodic schedules are settings."""

import pytest
from django.contrib.admin.sites import site
from huey.contrib.djhuey import HUEY

from tests.conftest import run_queued
from wufei.core import jobs
from wufei.core.models import Job

pytestmark = pytest.mark.django_db
calls = []


@jobs.job("tests.flaky", retries=1, retry_delay=0)
def flaky(n):
    calls.append(n)
    if len(calls) == 1:
        raise RuntimeError("the first attempt fails")
    return n * 2


@jobs.job("tests.watched", retries=0)
def watched(n, _report_to=None):
    return n


def test_a_failed_job_is_retried_and_its_failure_kept_with_the_traceback(queue_held):
    calls.clear()
    flaky(21)
    run_queued(queue_held)  # the attempt fails; the queue schedules the retry
    [failure] = Job.objects.filter(name="tests.flaky", status=Job.Status.FAILED)
    assert "RuntimeError: the first attempt fails" in failure.error and "Traceback" in failure.error
    for task in HUEY.scheduled():  # the retry is due now (retry_delay 0)
        HUEY.storage.delete_schedule()
        HUEY.execute(task)
    assert calls == [21, 21]
    assert Job.objects.filter(name="tests.flaky").count() == 1  # the success of a job nobody watches leaves no row
    assert site.is_registered(Job)


def test_a_watched_job_records_its_run(queue_held, make_user, django_capture_on_commit_callbacks):
    user = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        record = jobs.start(watched, 7, user=user, label="a report")
    assert Job.objects.get(pk=record.pk).status == Job.Status.QUEUED
    run_queued(queue_held)
    record.refresh_from_db()
    assert (record.status, record.result, record.progress, record.attempts, record.created_by) == (
        Job.Status.DONE, 7, 100, 1, user)


def test_schedules_are_settings(settings):
    assert jobs.parse_crontab("*/5 * * * *") is not None
    with pytest.raises(ValueError):
        jobs.parse_crontab("every five minutes")
    assert set(settings.SCHEDULE) >= {"alerts.scan", "webhooks.deliver", "ledgers.catch_up"}
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")
    assert jobs.SCHEDULED["alerts.scan"] == settings.SCHEDULE["alerts.scan"] == "*/5 * * * *"
    assert {"webhooks.deliver", "ledgers.catch_up", "tracking.supervision_refresh"} <= set(
        jobs.SCHEDULED)
