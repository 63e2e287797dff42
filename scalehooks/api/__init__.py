"""The API plumbing shared by the apps' ``/v1`` routes (STYLE 11).

Authentication, permissions, the JSON parser, throttling, the one exception
handler (domain errors and Django's ``ValidationError`` become our error
shape), the OpenAPI helpers and the strict fields. ``settings.REST_FRAMEWORK``
points here.
"""
