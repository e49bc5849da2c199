"""The cloud side of the telework platform, as a Pulumi program (Python, pulumi-aws).

`infra/__main__.py` is the entry point the Pulumi CLI runs; `infra.program.build` is the
same program as a function so that tests and the benchmark can run it under the mock runtime.
"""
