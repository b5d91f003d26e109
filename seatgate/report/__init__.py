"""``seatgate report``: licence sizing from the access logs a customer already has.

Pipeline: :mod:`seatgate.accesslog` parses the logs, :mod:`.sources` merges several
files into time order, :mod:`.verdicts` classifies each request with the real rules,
:mod:`.timeline` counts seats with the floating policy of :mod:`seatgate.policy`,
:mod:`.analysis` gathers the figures and the ``render_*`` modules print them.
"""
