"""`wufei worker [--workers N]`: run the background jobs (the task queue's consumer, Huey).

Jobs of every app (their `tasks.py`) and the periodic schedule (settings.SCHEDULE) run here, never inside the web
server. With the embedded queue (an SQLite file next to the database) run one worker beside `wufei serve`; with
Redis (WUFEI_QUEUE_URL=redis://…) run as many as needed on any number of machines. WUFEI_QUEUE_WORKERS sets the
default number of workers per process (threads on SQLite, processes on Redis).
"""

from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey


class Command(RunHuey):
    help = "Run the background jobs and the periodic schedule (Huey consumer)."
