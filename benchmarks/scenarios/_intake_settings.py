"""Settings of the gunicorn server the intake benchmarks (intake_api, api_baseline) start: the
local settings with DEBUG off, as production runs (DEBUG keeps every SQL statement and template
debug data).

A module whose name starts with "_" is not imported as a scenario module.
"""

from k12cloud.settings.local import *  # noqa: F403

DEBUG = False
