"""Errors that services raise and every surface (API, pages, commands) understands.

A service raises ``ServiceError`` (or a subclass) with a short message a person
can act on; the API turns it into the project's JSON error shape with the
subclass's HTTP status, pages show the message, commands print it.
"""


class ServiceError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message, *, code=None, details=None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.details = details or {}


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class PermissionDenied(ServiceError):
    status_code = 403
    code = "permission_denied"
