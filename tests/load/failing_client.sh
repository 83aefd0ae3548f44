#!/bin/sh
# A load-test client that reports a failed call (tests/load.cmake, load.detects_errors):
# bench/load/load_test.py must count it and exit 1.
echo "progress 3 0"
echo "done 5 1"
echo "load-client $$: cudaMemcpy H2D: cudaErrorInvalidValue (made up)" >&2
exit 1
