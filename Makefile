# k12cloud portal. `make run` and `make test` are all a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install messages run test lint format bench lock clean

install: $(STAMP) messages

$(STAMP): requirements/lock.txt
	@$(PYTHON) -c 'import sys; sys.exit("k12cloud needs Python 3.11 or newer (set PYTHON=...)" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/lock.txt
	touch $(STAMP)

## Compile the translations: the .mo files are generated (see .gitignore), never committed.
MESSAGES := locale/es/LC_MESSAGES/django.mo
messages: $(MESSAGES)

$(MESSAGES): locale/es/LC_MESSAGES/django.po $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://messages@localhost/messages} \
		$(BIN)/python manage.py compilemessages --locale es --ignore .venv --ignore .local

## The portal with demo data: embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set.
run: install
	$(BIN)/python -m k12cloud.devstack run

## The whole suite against real PostgreSQL and Redis (embedded ones when none are configured).
test: install
	$(BIN)/python -m k12cloud.devstack test $(PYTEST_ARGS)

# mypy's Django plugin loads the settings, which insist on a DATABASE_URL; it connects to nothing.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$${DATABASE_URL:-postgresql://lint@localhost/lint} $(BIN)/mypy .

## Re-resolve requirements/lock.txt after editing pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 -o requirements/lock.txt

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m k12cloud.devstack bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .local
