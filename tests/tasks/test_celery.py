"""The Celery app's broker connection, as a worker uses it."""

from tasks.celery import app


def test_the_broker_wait_ends_before_the_socket_timeout():
    # A worker waits for jobs in BRPOP; redis-py 8's default 5 s socket timeout would cut a longer
    # wait short (issue 10). kombu passes its own socket_timeout (None unless set in
    # CELERY_BROKER_TRANSPORT_OPTIONS) and waits brpop_timeout (1 s, or the polling_interval).
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        socket_timeout = channel.client.connection_pool.connection_kwargs["socket_timeout"]
        assert socket_timeout is None or channel.brpop_timeout < socket_timeout, (channel.brpop_timeout, socket_timeout)


def test_no_celery_time_limit_promises_a_deadline_the_threads_pool_would_not_keep():
    # Workers run -P threads, which ignores task_time_limit and task_soft_time_limit (issue 15): the job's
    # deadline is the engine's (tests/tasks/test_faults.py::test_time_limit_fails_the_job_and_kills_its_processes).
    from django.conf import settings

    assert app.conf.task_time_limit is None and app.conf.task_soft_time_limit is None
    # Redelivery of an unacknowledged task must wait longer than any run may take.
    assert app.conf.broker_transport_options["visibility_timeout"] > settings.PARALAB_MAX_RUNTIME
