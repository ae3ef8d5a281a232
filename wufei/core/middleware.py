from wufei.core import audit


class ActorMiddleware:
    """Attribute audit events written while serving a request to the logged-in user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        token = audit.set_actor(user if user is not None and user.is_authenticated else None)
        try:
            return self.get_response(request)
        finally:
            audit.reset_actor(token)
