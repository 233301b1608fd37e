"""The benchmark behind the deck's numbers: ``make bench`` runs it.

The talk claims that microthreads are cheap and that our hub serves an echo
as fast as gevent's; this package measures both claims and writes the
results to ``slides/data/bench.json``, which the slides render at build
time (``deckext.numbers``).  The build never runs the benchmark.  Parts:
``micro`` (ns per switch, call and system call), ``memory`` (KiB per
parked task), ``echo`` (ping-pong and C10K against a compiled client on
another CPU), ``servers`` (the echo servers compared), ``machine`` (what it
ran on).  See bench/README.md for the method and a profile.
"""
