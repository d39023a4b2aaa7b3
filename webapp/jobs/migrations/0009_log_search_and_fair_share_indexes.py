"""Indexes for the log search and the fair-share selector (EXPLAIN figures: docs/reliability.md).

job_log_search is a GIN index on exactly the vector the log search matches (webapp/search/selectors.py), so a
word is looked up instead of every visible job's log being parsed. It is PostgreSQL's alone: SQLite searches by
substring and has no GIN. So it is made here and is not in Job.Meta, where SQLite would meet it again each
time it rebuilds the table to alter a column.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models
from django.db.models import TextField
from django.db.models.functions import Cast

LOG_SEARCH = GinIndex(SearchVector(Cast("log", TextField()), "error", config="simple"), name="job_log_search")


def add_log_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("jobs", "Job"), LOG_SEARCH)


def remove_log_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("jobs", "Job"), LOG_SEARCH)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0008_job_threads"),
    ]

    operations = [
        migrations.RunPython(add_log_search, remove_log_search),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("status", "queued")),
                fields=["capability", "queued_at", "id"],
                include=("team",),
                name="job_queued_in_turn",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["capability", "started_at"], name="job_started_on_queue"),
        ),
    ]
