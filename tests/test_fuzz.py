"""The API keeps the word of its OpenAPI schema: Schemathesis fuzzes `/openapi.json` against the app.

The app runs in this process on real uvicorn (loopback; the real index, a SQLite store in tmp, every
middleware) and Schemathesis's own command line drives it, so all of its phases run: examples,
coverage (boundaries, wrong types, methods the path does not have), fuzzing (valid and invalid
bodies) and stateful sequences. A bounded number of cases per operation (`SMEBOT_FUZZ_EXAMPLES`,
default 40), a fixed seed; the summary goes to test-artifacts/fuzz.txt.

Checked: no 5xx, every status declared, bodies and content types as declared (errors as
{"error": "..."}, the stream as its events), invalid input rejected with a 4xx, 405 with Allow.
Not checked: that every schema-valid body is taken (`positive_data_acceptance`): an inquiry with no
question in it (a signature alone) is a 400 the schema cannot express.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from bot.advisor import Advisor
from bot.store import ConversationStore
from bot.web import create_app
from evals.servers import uvicorn_thread

ST = Path(sys.executable).with_name("st")
EXAMPLES = int(os.environ.get("SMEBOT_FUZZ_EXAMPLES", "40"))
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "negative_data_rejection,unsupported_method,missing_required_header"
)


@pytest.mark.slow
@pytest.mark.skipif(not ST.exists(), reason="schemathesis is not installed (pip install -e '.[dev]')")
def test_the_api_keeps_its_schema(index_settings, tmp_path):
    # one client address for every case: no per-client rate here (429 is declared, but not what is tested)
    settings = index_settings.model_copy(update={"rate_limit": "none"})
    advisor = Advisor(settings, store=ConversationStore(f"sqlite:///{tmp_path / 'c.db'}"))
    with uvicorn_thread(create_app(settings, advisor=advisor)) as url:
        run = subprocess.run(
            [str(ST), "run", f"{url}/openapi.json", "--checks", CHECKS, "--max-examples", str(EXAMPLES),
             "--seed", "13", "--generation-database", "none", "--no-color", "--request-timeout", "30",
             "--suppress-health-check", "all"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900,
        )
    out = run.stdout + run.stderr
    generated = re.search(r"(\d+) generated", out)
    summary = out[out.rfind("Test cases:"):].strip() if "Test cases:" in out else out[-2000:]
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "fuzz.txt").write_text(
        f"schemathesis, {EXAMPLES} examples per operation, seed 13\n{summary}\n", encoding="utf-8"
    )
    assert run.returncode == 0, out[-6000:]
    assert generated and int(generated.group(1)) >= 12 * 10, summary
