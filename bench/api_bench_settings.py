"""The settings of bench/api.py's web processes: the tree's own, plus ``/bench/minimal``."""

from scalehooks.settings import *  # noqa: F403 - the tree's settings, whole

ROOT_URLCONF = "api_bench_urls"
