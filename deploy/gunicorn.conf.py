"""gunicorn's configuration for the web process: `make run` and deploy/scalehooks-web.service.

    gunicorn -c deploy/gunicorn.conf.py

from the project directory. Read from the environment, as the settings are:
HOST and PORT (the address to listen on, default 127.0.0.1:8000) and
WEB_CONCURRENCY (worker processes, default 2) and WEB_THREADS (threads per
worker, default 8). Requests are logged to stdout,
errors to stderr. Static files are served by WhiteNoise from STATIC_ROOT
(`manage.py collectstatic` first).
"""

import os

wsgi_app = "scalehooks.wsgi:application"
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per worker (gunicorn's gthread worker): a request that waits (an inbox's scripted
# delay, at most INBOX_MAX_DELAYED_ANSWERS of them per process; a file import, at most
# FILES_IMPORTS_PER_PROCESS) leaves the others served.
threads = int(os.environ.get("WEB_THREADS", "8"))
# gthread, except that a thread only ever takes a request that arrived whole: the worker's own
# event loop reads it first, and closes with a 408 a connection whose request is not whole
# WEB_REQUEST_TIMEOUT seconds (default 30) after its first byte could be read. Slow or
# dripping clients cost a socket each, never a thread (scalehooks/web_worker.py).
worker_class = "scalehooks.web_worker.BufferingThreadWorker"
accesslog = "-"
errorlog = "-"
# No secret in the access log (SPEC §8): no Basic-auth user name (the API key), the tokens of
# inbox, sign-in link, confirmation and file paths masked, queries as "?***", the referer's too.
logger_class = "scalehooks.log_masking.AccessLogger"
access_log_format = '%(h)s - - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
# gunicorn 27's control socket (one path per user, $HOME/.gunicorn/gunicorn.ctl):
# not used here, and two web processes of one user would share it.
control_socket_disable = True


def post_worker_init(worker):
    """A worker leaves SIGINT to the master. A Ctrl-C in a terminal (`make run`) signals the whole
    process group: the worker got SIGINT itself and the master's SIGQUIT, each handled by exiting,
    and the second exit, raised inside the first one's shutdown of threads, left the worker
    waiting on a lock for good (seen twice in the suite: `ps` showed it in futex_do_wait until
    the master killed it 30 s later). The master's SIGQUIT alone stops it at once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
