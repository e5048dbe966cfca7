#!/usr/bin/env python3
"""Convert Sigma rules to Splunk `tstats` searches over Endpoint.Processes,
as the shared Sigma regression cases were made: pySigma's Splunk backend
with its CIM data model pipeline, output format `data_model`.

    sigma-to-spl.py RULES_DIR OUT_DIR

Every RULES_DIR/*.yml (e.g. a checkout's rules/windows/process_creation)
gives OUT_DIR/<stem>.spl (<stem>_<n>.spl when a rule makes several
searches); a rule the backend cannot convert (a field the data model does
not have) is named on stdout. Then, for example:

    evidx-query -i INDEX --pack OUT_DIR --out RESULTS

Needs `pip install pysigma pysigma-backend-splunk`.
"""

import pathlib
import sys

from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.pipelines.splunk import splunk_cim_data_model


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rules, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    converted = failed = 0
    for rule in sorted(rules.glob("*.yml")):
        try:
            collection = SigmaCollection.from_yaml(rule.read_text(encoding="utf-8"))
            backend = SplunkBackend(processing_pipeline=splunk_cim_data_model())
            searches = backend.convert(collection, "data_model")
        except Exception as e:  # the backend's reasons are many; name them
            failed += 1
            print(f"not converted: {rule.name}: {type(e).__name__}: {str(e)[:120]}")
            continue
        for i, search in enumerate(searches):
            name = rule.stem + (f"_{i}" if i else "") + ".spl"
            (out / name).write_text(search, encoding="utf-8")
        converted += 1
    print(f"converted {converted} rules, {failed} not converted")


if __name__ == "__main__":
    main()
