from wufei.core.scope import request_scope


def navigation(request):
    """The caller's scope for templates: menus show what the caller can reach."""
    return {"scope": request_scope(request)}
