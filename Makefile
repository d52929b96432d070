# The two commands of the README: `make demo` and `make test`. Both create .venv and install first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The embedded default lives under .data/ (ignored by git).
# IMAGE_PRETRAINED=none: no CLIP weights offline, so the demo uses untrained image weights, explicitly (metadata says so).
# Rates (issue 11): the bundled CBR snapshot (metadata says "file snapshot"), whose fixed date repricing
# accepts only with RATES_MAX_AGE_DAYS=-1; outside the demo an unset RATES_URL is the provider's public URL.
# RAG (issue 14): the bundled Persian documents as the ingest system (file://); unset INGEST_URL = not configured.
DEMO_ENV := DATA_DIR=$(CURDIR)/.data DAGSTER_HOME=$(CURDIR)/.data/dagster_home HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 IMAGE_PRETRAINED=none \
	RATES_URL=file://$(CURDIR)/resources/rates/snapshots/cbr_daily.xml RATES_MAX_AGE_DAYS=-1 \
	INGEST_URL=file://$(CURDIR)/assets/rag/index/demo_documents.json

.PHONY: install demo test dev bench instance clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

instance:
	mkdir -p .data/dagster_home
	cp dagster.yaml .data/dagster_home/dagster.yaml

demo: install instance
	$(DEMO_ENV) $(VENV)/bin/platformctl db init
	$(DEMO_ENV) $(VENV)/bin/platformctl demo seed
	$(DEMO_ENV) $(VENV)/bin/platformctl demo run

test: install
	$(PY) -m pytest

# The UI and the daemon (sensors, schedules) plus the embeddings server that keeps the text model
# loaded for their runs (Procfile; honcho stops everything on Ctrl-C).
DEV_ENV := $(DEMO_ENV) TEXT_EMBED_URL=http://127.0.0.1:8700 PATH=$(CURDIR)/$(VENV)/bin:$(PATH)

dev: install instance
	$(DEMO_ENV) $(VENV)/bin/platformctl db init
	$(DEV_ENV) env --default-signal=INT,TERM $(VENV)/bin/honcho start -f Procfile

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .data
