"""The user-facing HTTP layer, as aiohttp.web has it: request, responses, exceptions, forms.

Private modules; the public names are re-exported by ``actorhttp`` and
``actorhttp.web``.
"""
