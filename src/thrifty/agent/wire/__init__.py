"""The fast path: the Messages API spoken directly over ``httpx2``, without loading ``anthropic``.

``import anthropic`` is most of a cold run's start-up; the streaming call itself needs only an SSE
parser (``sse``), a message accumulator that builds the same snapshot the SDK's ``MessageStream``
does (``accumulate``) and a small client (``client``). ``model.FastCaller`` puts them behind the
same retry and metering loop as ``model.ModelCaller``, so both transports yield the same events.
"""
