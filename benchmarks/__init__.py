"""stepspec's benchmark suite: the mock server and the conformance kit against their targets.

``python -m benchmarks`` (``make bench``) runs every measure in one go and prints a table of
throughput, latency, memory and the ratio to a constant-bytes baseline measured in the same run;
see ``benchmarks/README.md``. Nothing here is imported by the packages or the tests, except the
pure helpers the smoke test checks (parsing wrk's report, building the cold-request list).
"""
